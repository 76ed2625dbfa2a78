import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMaintenanceActivities, resolveEnv, type MaintenanceDeps } from '@menagerie/activities';

describe('resolveEnv', () => {
  it("fills each name from the worker's configuration", () => {
    expect(resolveEnv('yara', ['TOKEN', 'MODE'], ['MODE=fast', 'TOKEN=s3cret=='])).toEqual(['TOKEN=s3cret==', 'MODE=fast']);
  });

  it('never takes a value from the input: values come from the worker alone', () => {
    expect(() => resolveEnv('yara', ['TOKEN=old'], ['TOKEN=new'])).toThrow(/TOKEN=old has no value in this worker's engines.json/);
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
    } as unknown as MaintenanceDeps;

    const report = await new MockActivityEnvironment().run(createMaintenanceActivities(deps).expireOldJobs, { olderThanDays: 30 });

    expect(report).toEqual({ expiredJobs: 499, expiredSubmissions: 0, orphanDirs: 0, orphanIdsRead: 0, failed: 1 });
    expect(expired.has(stuck)).toBe(false);
    expect(deps.jobs.findExpirable).toHaveBeenCalledTimes(1);
  });
});
