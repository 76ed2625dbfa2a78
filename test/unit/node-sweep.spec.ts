import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  createMaintenanceActivities,
  sweepNode,
  ABANDONED_UPLOAD_MS,
  type ExpireReport,
  type MaintenanceDeps,
  type NodeSweepDeps,
  type RunningJobs,
} from '@menagerie/activities';
import type { JobStatus } from '@menagerie/core';
import type { ContainerRuntime, JobContainer } from '@menagerie/runtime';
import { Scratch, type BlobStore, type JobDirOptions } from '@menagerie/storage';

const quiet = { info: () => undefined, warn: () => undefined };

async function newScratch(options: Omit<JobDirOptions, 'node'> = { filesystem: 'plain', limitBytes: 10_000_000 }): Promise<Scratch> {
  const scratch = new Scratch(mkdtempSync(join(tmpdir(), 'menagerie-sweep-')), { node: 'node-a', ...options });
  await scratch.init();
  return scratch;
}

async function staged(scratch: Scratch): Promise<string> {
  const id = randomUUID();
  await scratch.stage(id, 'in', '1000:1000', Readable.from([Buffer.from('x')]));
  return id;
}

/** A runtime that lists `containers` and removes them as asked (`refuse` ones fail). */
function runtimeOf(containers: JobContainer[], refuse: string[] = []) {
  const left = [...containers];
  const runtime = {
    listJobContainers: jest.fn(async () => [...left]),
    removeContainer: jest.fn(async (id: string) => {
      if (refuse.includes(id)) throw new Error(`docker remove: container ${id} is busy`);
      left.splice(
        left.findIndex((c) => c.id === id),
        1,
      );
    }),
  } as unknown as jest.Mocked<ContainerRuntime>;
  return { runtime, left };
}

function sweepDeps(
  over: Partial<NodeSweepDeps> & Pick<NodeSweepDeps, 'scratch' | 'runtime'>,
  statuses = new Map<string, JobStatus>(),
): NodeSweepDeps {
  return {
    node: 'node-a',
    log: quiet,
    jobs: { statuses: jest.fn(async (ids: string[]) => new Map([...statuses].filter(([id]) => ids.includes(id)))) },
    running: new Map(),
    ...over,
  };
}

describe('sweepNode', () => {
  it("removes this node's and unlabelled containers that no run of this process owns, never another node's", async () => {
    const scratch = await newScratch();
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
    const scratch = await newScratch();
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
    const scratch = await newScratch();
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
    const scratch = await newScratch();
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

  // Loop devices need root; see test/unit/scratch.spec.ts.
  const canMount = process.getuid?.() === 0 && existsSync('/dev/loop-control');
  const mountsUnder = (dir: string) =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point): point is string => point !== undefined && point.startsWith(dir));
  let loopScratch: Scratch | undefined;
  afterEach(async () => {
    // Whatever a failed test left mounted goes, so no loop device outlives the suite.
    if (!loopScratch) return;
    for (const id of await loopScratch.list()) await loopScratch.remove(id);
    expect(mountsUnder(loopScratch.root)).toEqual([]);
    loopScratch = undefined;
  });

  (canMount ? it : it.skip)('unmounts the loop volumes of the directories it sweeps, and leaves the kept one mounted', async () => {
    const scratch = (loopScratch = await newScratch({ filesystem: 'loop', limitBytes: 4 * 1024 * 1024 }));
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

describe('sweepNode on a scratch root shared with other nodes', () => {
  it("removes what a node gone for an hour left there, and never touches a live node's or one the database never heard of", async () => {
    const mine = await newScratch();
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
});

describe('expireOldJobs', () => {
  const HOUR = 3_600_000;
  /** A store of `stored` ids (sorted, paged like the real ones), each last written at `written[id]` (default: hours ago). */
  function retention(options: {
    expirable?: string[];
    stored?: string[];
    written?: Record<string, number>;
    known?: string[];
    refuse?: string[];
    cursor?: string | null;
    orphans?: MaintenanceDeps['orphans'];
  }) {
    const removed: string[] = [];
    const expired: string[] = [];
    const stored = [...(options.stored ?? [])].sort();
    let cursor = options.cursor ?? null;
    const pages: Array<{ after: string | null; limit: number }> = [];
    const blobs = {
      remove: jest.fn(async (id: string) => {
        if (options.refuse?.includes(id)) throw new Error('S3 storage at http://s3 failed: SlowDown');
        removed.push(id);
      }),
      listIds: jest.fn(async (after: string | null, limit: number) => {
        pages.push({ after, limit });
        const rest = stored.filter((id) => after === null || id > after);
        const ids = rest.slice(0, limit);
        return { ids, next: rest.length > limit ? ids[ids.length - 1]! : null };
      }),
      lastWritten: jest.fn(async (id: string) => new Date(options.written?.[id] ?? Date.now() - 5 * HOUR)),
      abortStaleUploads: jest.fn(async (_before: Date) => 2),
    };
    const deps: MaintenanceDeps = {
      blobs: blobs as unknown as BlobStore,
      jobs: {
        findExpirable: jest.fn(async () => (options.expirable ?? []).filter((id) => !expired.includes(id))),
        markExpired: jest.fn(async (id: string) => void expired.push(id)),
        statuses: jest.fn(
          async (ids: string[]) => new Map(ids.filter((id) => options.known?.includes(id)).map((id) => [id, 'queued' as JobStatus])),
        ),
      },
      submissions: { findExpirable: jest.fn(async () => []), markExpired: jest.fn(), known: jest.fn(async () => new Set<string>()) },
      cursors: {
        cursor: jest.fn(async () => cursor),
        saveCursor: jest.fn(async (_name: string, position: string | null) => void (cursor = position)),
      },
      sweepNode: jest.fn(),
      ...(options.orphans ? { orphans: options.orphans } : {}),
    };
    return { deps, blobs, removed, expired, pages, cursor: () => cursor };
  }
  const run = (deps: MaintenanceDeps): Promise<ExpireReport> =>
    new MockActivityEnvironment().run(createMaintenanceActivities(deps).expireOldJobs, { olderThanDays: 30 });
  const ids = (n: number) => Array.from({ length: n }, () => randomUUID()).sort();

  it('removes the files of expired jobs and marks them expired, and removes stored files no row owns once untouched for an hour', async () => {
    const [old1, old2, orphan, recorded, fresh, result] = ids(6);
    // `result`: a result and log a cache hit shared before its row was written, its API gone since.
    const t = retention({
      expirable: [old1!, old2!],
      stored: [orphan!, recorded!, fresh!, result!],
      known: [recorded!],
      written: { [fresh!]: Date.now() - 60_000 },
    });

    const report = await run(t.deps);

    expect(report).toEqual({ expiredJobs: 2, expiredSubmissions: 0, orphanDirs: 2, orphanIdsRead: 4, failed: 0 });
    expect(t.removed).toEqual([old1, old2, ...[orphan, result].sort()]);
    expect(t.expired).toEqual([old1, old2]);
    // Aborting unfinished uploads is a schedule of its own.
    expect(t.blobs.abortStaleUploads).not.toHaveBeenCalled();
  });

  it('reads a bounded number of ids per run, a page at a time, and goes on next run from where it stopped, then starts over', async () => {
    const stored = ids(7);
    const t = retention({ stored, orphans: { perRun: 3, pageSize: 2 } });

    expect((await run(t.deps)).orphanIdsRead).toBe(3);
    expect(t.pages).toEqual([
      { after: null, limit: 2 },
      { after: stored[1], limit: 1 },
    ]);
    expect(t.cursor()).toBe(stored[2]);
    expect(t.removed).toEqual(stored.slice(0, 3));

    await run(t.deps);
    expect(t.removed).toEqual(stored.slice(0, 6));
    await run(t.deps);
    // The last id: the end of the store, so the next run starts from the first again.
    expect(t.removed).toEqual(stored);
    expect(t.cursor()).toBeNull();
  });

  it('counts a removal that fails, leaves that job unexpired, and sweeps on', async () => {
    const [stuck, fine, stuckOrphan, orphan] = ids(4);
    const t = retention({ expirable: [stuck!, fine!], stored: [stuckOrphan!, orphan!], refuse: [stuck!, stuckOrphan!] });

    const report = await run(t.deps);

    expect(report).toEqual({ expiredJobs: 1, expiredSubmissions: 0, orphanDirs: 1, orphanIdsRead: 2, failed: 2 });
    expect(t.expired).toEqual([fine]);
    expect(t.removed).toEqual([fine, orphan]);
  });
});

describe('abortStaleUploads', () => {
  it('aborts what was left unfinished for an hour', async () => {
    const abort = jest.fn(async (_before: Date) => 2);
    const deps = { blobs: { abortStaleUploads: abort } as unknown as BlobStore } as MaintenanceDeps;
    const before = Date.now();

    expect(await new MockActivityEnvironment().run(createMaintenanceActivities(deps).abortStaleUploads)).toEqual({ aborted: 2 });

    const cutoff = abort.mock.calls[0]![0].getTime();
    expect(cutoff).toBeGreaterThanOrEqual(before - ABANDONED_UPLOAD_MS);
    expect(cutoff).toBeLessThanOrEqual(Date.now() - ABANDONED_UPLOAD_MS);
  });
});

describe('removeOrphanContainers (retention workflows from before nodes swept themselves)', () => {
  it('sweeps the node that takes it and answers with the containers removed', async () => {
    const sweep = jest.fn(async () => ({ removedContainers: ['c1', 'c2'], removedJobDirs: 4, failed: 0 }));
    const deps = {
      blobs: {} as BlobStore,
      jobs: {} as MaintenanceDeps['jobs'],
      submissions: {} as MaintenanceDeps['submissions'],
      cursors: {} as MaintenanceDeps['cursors'],
      sweepNode: sweep,
    };

    const answer = await new MockActivityEnvironment().run(createMaintenanceActivities(deps).removeOrphanContainers);

    expect(answer).toEqual({ removed: ['c1', 'c2'] });
    expect(sweep).toHaveBeenCalledTimes(1);
  });
});
