import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sweepNode } from '@menagerie/activities';
import type { JobStatus } from '@menagerie/core';
import type { Scratch } from '@menagerie/storage';
import { runtimeOf, sweepDeps, sweepScratch } from '../support/node-sweep';
import { canMount, mountsUnder, staged } from '../support/scratch';

// Root and loop devices (see scratch-volumes.spec.ts). The rest of the sweep: test/unit/node-sweep.spec.ts.

describe('sweepNode', () => {
  let loopScratch: Scratch | undefined;
  afterEach(async () => {
    // Whatever a failed test left mounted goes, so no loop device outlives the suite.
    if (!loopScratch) return;
    for (const id of await loopScratch.list()) await loopScratch.remove(id);
    expect(mountsUnder(loopScratch.root)).toEqual([]);
    loopScratch = undefined;
  });

  (canMount ? it : it.skip)('unmounts the loop volumes of the directories it sweeps, and leaves the kept one mounted', async () => {
    const scratch = (loopScratch = await sweepScratch({ filesystem: 'loop', limitBytes: 4 * 1024 * 1024 }));
    const [ended, noRow, underWay] = [await staged(scratch), await staged(scratch), await staged(scratch)];
    expect(mountsUnder(scratch.root).sort()).toEqual([ended, noRow, underWay].map((id) => scratch.dir(id)).sort());
    const statuses = new Map<string, JobStatus>([
      [ended, 'cancelled'],
      [underWay, 'running'],
    ]);

    const report = await sweepNode(sweepDeps({ scratch, runtime: runtimeOf([]).runtime }, statuses));

    expect(report).toEqual({ removedContainers: [], removedJobDirs: 2, failed: 0 });
    expect(mountsUnder(scratch.root)).toEqual([scratch.dir(underWay)]);
    expect(await scratch.list()).toEqual([underWay]);
    for (const id of [ended, noRow]) expect(existsSync(join(scratch.area, 'volumes', `${id}.img`))).toBe(false);
  });
});
