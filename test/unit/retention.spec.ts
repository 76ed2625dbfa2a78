import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMaintenanceActivities, ABANDONED_UPLOAD_MS, type ExpireReport, type MaintenanceDeps } from '@menagerie/activities';
import type { JobStatus } from '@menagerie/core';
import type { BlobStore } from '@menagerie/storage';

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
