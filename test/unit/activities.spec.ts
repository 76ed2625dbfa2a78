import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createMaintenanceActivities, resolveEnv, type ActivityDeps, type MaintenanceDeps } from '@menagerie/activities';
import type { FinalizeJobInput } from '@menagerie/core';

const JOB = '6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a';

/** Activity deps whose scratch and runtime refuse every cleanup, and a database that records what it gets. */
function failingCleanup() {
  const written: FinalizeJobInput[] = [];
  const deps = {
    scratch: { remove: jest.fn(async () => Promise.reject(new Error('EBUSY: device or resource busy'))) },
    runtime: { removeJobContainers: jest.fn(async () => Promise.reject(new Error('docker remove: daemon gone'))) },
    jobs: {
      findById: jest.fn(),
      markRunning: jest.fn(),
      finalize: jest.fn(async (input: FinalizeJobInput) => void written.push(input)),
    },
    allowRunflags: [],
    logLimitBytes: 1024,
    logTailBytes: 256,
    resultLimitBytes: 1024,
    engineEnv: () => undefined,
  } as unknown as ActivityDeps;
  return { deps, written };
}

describe('finalizeJob (workflows from before version 4)', () => {
  it('records the final status first; a cleanup that fails is logged, not retried', async () => {
    const { deps, written } = failingCleanup();
    const activities = createActivities(deps);
    const outcome: FinalizeJobInput = {
      jobId: JOB,
      status: 'completed',
      exitCode: 0,
      imageDigest: 'sha256:abc',
      startedAt: '2026-12-01T10:00:00.000Z',
    };

    await expect(new MockActivityEnvironment().run(activities.finalizeJob, outcome)).resolves.toBeUndefined();

    expect(written).toEqual([outcome]);
    // Both cleanups were still attempted, after the status was recorded.
    const recorded = (deps.jobs.finalize as jest.Mock).mock.invocationCallOrder[0];
    expect((deps.runtime.removeJobContainers as jest.Mock).mock.invocationCallOrder[0]).toBeGreaterThan(recorded);
    expect((deps.scratch.remove as jest.Mock).mock.invocationCallOrder[0]).toBeGreaterThan(recorded);
  });

  it('gives up on a cleanup that hangs, once the status is recorded', async () => {
    const { deps, written } = failingCleanup();
    (deps.scratch.remove as jest.Mock).mockReturnValue(new Promise(() => undefined)); // a umount that never returns
    const activities = createActivities({ ...deps, cleanupTimeoutMs: 50 });
    const outcome: FinalizeJobInput = { jobId: JOB, status: 'completed' };
    await expect(new MockActivityEnvironment().run(activities.finalizeJob, outcome)).resolves.toBeUndefined();
    expect(written).toEqual([outcome]);
  });

  it('fails (to be retried) while the database refuses the status', async () => {
    const { deps } = failingCleanup();
    (deps.jobs.finalize as jest.Mock).mockRejectedValue(new Error('connection refused'));
    const activities = createActivities(deps);
    const failed: FinalizeJobInput = { jobId: JOB, status: 'failed' };
    await expect(new MockActivityEnvironment().run(activities.finalizeJob, failed)).rejects.toThrow('connection refused');
  });
});

describe('resolveEnv', () => {
  it("fills each name from the worker's configuration", () => {
    expect(resolveEnv('yara', ['TOKEN', 'MODE'], ['MODE=fast', 'TOKEN=s3cret=='])).toEqual(['TOKEN=s3cret==', 'MODE=fast']);
  });

  it('keeps a value a workflow from before names-only inputs carried', () => {
    expect(resolveEnv('yara', ['TOKEN=old'], ['TOKEN=new'])).toEqual(['TOKEN=old']);
  });

  it('does not take a value from a longer name that starts the same', () => {
    expect(() => resolveEnv('yara', ['TOKEN'], ['TOKEN_B=x'])).toThrow(/TOKEN has no value/);
  });

  it('fails the job, without retries, when the engine or the value is unknown here', () => {
    const unknownEngine = (() => {
      try {
        resolveEnv('gone', ['TOKEN'], undefined);
      } catch (err) {
        return err;
      }
    })();
    expect(unknownEngine).toBeInstanceOf(ApplicationFailure);
    expect(unknownEngine).toMatchObject({
      nonRetryable: true,
      message: expect.stringContaining('engine gone is not configured on this worker'),
    });
  });
});

describe('expireOldJobs', () => {
  it('goes on past a job whose files will not go, and leaves it for the next sweep', async () => {
    const stuck = '00000000-0000-4000-8000-000000000001';
    const fine = Array.from({ length: 499 }, (_, i) => `00000000-0000-4000-8000-${String(i + 2).padStart(12, '0')}`);
    const expired = new Set<string>();
    const deps = {
      // Like the database: what is not yet marked expired comes back, a full batch at a time.
      jobs: {
        findExpirable: jest.fn(async (_before: Date, limit: number) => [stuck, ...fine].filter((id) => !expired.has(id)).slice(0, limit)),
        markExpired: jest.fn(async (id: string) => void expired.add(id)),
        statuses: jest.fn(async () => new Map()),
      },
      blobs: {
        remove: jest.fn(async (id: string) => {
          if (id === stuck) throw new Error('S3 storage at http://s3 failed: SlowDown');
        }),
        listIds: jest.fn(async () => ({ ids: [], next: null })),
      },
      submissions: { findExpirable: jest.fn(async () => []), markExpired: jest.fn(), known: jest.fn(async () => new Set()) },
      cursors: { cursor: jest.fn(async () => null), saveCursor: jest.fn(async () => undefined) },
      sweepNode: jest.fn(),
    } as unknown as MaintenanceDeps;

    const report = await new MockActivityEnvironment().run(createMaintenanceActivities(deps).expireOldJobs, { olderThanDays: 30 });

    expect(report).toEqual({ expiredJobs: 499, expiredSubmissions: 0, orphanDirs: 0, orphanIdsRead: 0, failed: 1 });
    expect(expired.has(stuck)).toBe(false);
    expect(deps.jobs.findExpirable).toHaveBeenCalledTimes(1);
  });
});
