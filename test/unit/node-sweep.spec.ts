import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sweepNode, type RunningJobs } from '@menagerie/activities';
import type { JobStatus } from '@menagerie/core';
import { Scratch } from '@menagerie/storage';
import { Readable } from 'node:stream';
import { bundleTar } from '../support/bundles';
import { staged } from '../support/scratch';
import { runtimeOf, sweepDeps, sweepScratch } from '../support/node-sweep';

// Its loop volumes (root, loop devices): test/host/node-sweep-volumes.spec.ts. Retention: retention.spec.ts.

describe('sweepNode', () => {
  it("removes this node's and unlabelled containers that no run of this process owns, never another node's", async () => {
    const scratch = await sweepScratch();
    const [orphan, unlabelled, mineRunning, unlabelledRunning, foreign] = Array.from({ length: 5 }, () => randomUUID());
    const { runtime, left } = runtimeOf([
      { id: 'c-orphan', jobId: orphan!, state: 'running', node: 'node-a' },
      { id: 'c-unlabelled', jobId: unlabelled!, state: 'exited', node: null },
      { id: 'c-mine-running', jobId: mineRunning!, state: 'running', node: 'node-a' },
      { id: 'c-unlabelled-running', jobId: unlabelledRunning!, state: 'running', node: null },
      { id: 'c-foreign', jobId: foreign!, state: 'running', node: 'node-b' },
    ]);
    const running: RunningJobs = new Map([
      [mineRunning!, 'filemeta'],
      [unlabelledRunning!, 'filemeta'],
    ]);

    const report = await sweepNode(sweepDeps({ scratch, runtime, running }));

    expect(report).toEqual({ removedContainers: ['c-orphan', 'c-unlabelled'], removedJobDirs: 0, failed: 0 });
    expect(left.map((c) => c.id)).toEqual(['c-mine-running', 'c-unlabelled-running', 'c-foreign']);
  });

  it('removes scratch directories not running here whose job ended or has no row, and keeps those of jobs still under way', async () => {
    const scratch = await sweepScratch();
    const [completed, failed, noRow, runningStatus, queued, runningHere] = await Promise.all(
      Array.from({ length: 6 }, () => staged(scratch)),
    );
    const statuses = new Map<string, JobStatus>([
      [completed!, 'completed'],
      [failed!, 'failed'],
      [runningStatus!, 'running'], // a workflow from before version 4 between its stage and run steps, say
      [queued!, 'queued'],
      [runningHere!, 'completed'], // its status already says so, but its run here is still clearing up
    ]);
    const { runtime } = runtimeOf([]);

    const report = await sweepNode(sweepDeps({ scratch, runtime, running: new Map([[runningHere!, 'filemeta']]) }, statuses));

    expect(report).toEqual({ removedContainers: [], removedJobDirs: 3, failed: 0 });
    expect((await scratch.list()).sort()).toEqual([runningStatus!, queued!, runningHere!].sort());
    for (const id of [completed!, failed!, noRow!]) expect(existsSync(scratch.dir(id))).toBe(false);
  });

  it('keeps what a run that started while the sweep was listing owns', async () => {
    const scratch = await sweepScratch();
    const started = await staged(scratch);
    const running: RunningJobs = new Map();
    const { runtime, left } = runtimeOf([{ id: 'c-new', jobId: started, state: 'created', node: 'node-a' }]);
    // The run starts after the containers and directories were listed, before the sweep decides.
    runtime.listJobContainers.mockImplementationOnce(async () => {
      const listed = [...left];
      running.set(started, 'filemeta');
      return listed;
    });

    const report = await sweepNode(sweepDeps({ scratch, runtime, running }));

    expect(report).toEqual({ removedContainers: [], removedJobDirs: 0, failed: 0 });
    expect(left.map((c) => c.id)).toEqual(['c-new']);
    expect(await scratch.list()).toEqual([started]);
  });

  it('counts a container that will not go as failed, and sweeps on', async () => {
    const scratch = await sweepScratch();
    const ended = await staged(scratch);
    const { runtime, left } = runtimeOf(
      [
        { id: 'c-busy', jobId: randomUUID(), state: 'running', node: 'node-a' },
        { id: 'c-gone', jobId: randomUUID(), state: 'exited', node: 'node-a' },
      ],
      ['c-busy'],
    );
    const warned: string[] = [];
    const log = { info: () => undefined, warn: (message: string) => void warned.push(message) };

    const report = await sweepNode(sweepDeps({ scratch, runtime, log }));

    expect(report).toEqual({ removedContainers: ['c-gone'], removedJobDirs: 1, failed: 1 });
    expect(left.map((c) => c.id)).toEqual(['c-busy']);
    expect(await scratch.list()).toEqual([]);
    expect(existsSync(scratch.dir(ended))).toBe(false);
    expect(warned).toContain('could not remove an orphaned job container; the next sweep tries again');
  });
});

describe('sweepNode on a scratch root shared with other nodes', () => {
  it("removes what a node gone for an hour left there, and never touches a live node's or one the database never heard of", async () => {
    const mine = await sweepScratch();
    const others = Object.fromEntries(
      await Promise.all(
        ['node-gone', 'node-live', 'node-unknown'].map(async (node) => {
          const scratch = new Scratch(mine.root, { node, filesystem: 'plain', limitBytes: 10_000_000 });
          await scratch.init();
          return [node, { scratch, job: await staged(scratch) }] as const;
        }),
      ),
    );
    const { runtime } = runtimeOf([]);
    const nodes = {
      list: jest.fn(async () => [
        { name: 'node-a', ageSeconds: 1 },
        { name: 'node-live', ageSeconds: 50 },
        { name: 'node-gone', ageSeconds: 2 * 3600 },
      ]),
    };

    const report = await sweepNode({ ...sweepDeps({ scratch: mine, runtime }), nodes });

    expect(report.retiredNodes).toEqual(['node-gone']);
    expect(existsSync(others['node-gone']!.scratch.area)).toBe(false);
    for (const node of ['node-live', 'node-unknown']) {
      const { scratch, job } = others[node]!;
      expect(await scratch.list()).toEqual([job]);
      expect(readFileSync(join(scratch.dir(job), 'in'), 'utf8')).toBe('x');
    }
  });

  it('removes the copies of data bundle versions no longer current, once no run holds them', async () => {
    const scratch = await sweepScratch();
    const [current, old, held] = await Promise.all(['new', 'old', 'held'].map((text) => bundleTar({ 'a.yar': text })));
    for (const b of [current, old]) (await scratch.bundles.hold(b.digest, async () => Readable.from([b.tar]))).release();
    const running = await scratch.bundles.hold(held.digest, async () => Readable.from([held.tar]));
    const { runtime } = runtimeOf([]);
    const deps = sweepDeps({ scratch, runtime, bundles: { currentSet: async () => new Set([current.digest]) } });

    expect(await sweepNode(deps)).toMatchObject({ removedBundles: [old.digest], failed: 0 });
    expect((await scratch.bundles.list()).sort()).toEqual([current.digest, held.digest].sort());
    running.release();
    expect(await sweepNode(deps)).toMatchObject({ removedBundles: [held.digest] });
    expect(await scratch.bundles.list()).toEqual([current.digest]);
  });
});
