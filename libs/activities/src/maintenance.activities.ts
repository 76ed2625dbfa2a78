import { log } from '@temporalio/activity';
import { isFinalStatus } from '@menagerie/core';
import type { JobRepository } from '@menagerie/db';
import type { ContainerRuntime } from '@menagerie/runtime';
import type { JobStore } from '@menagerie/storage';

export interface MaintenanceDeps {
  store: JobStore;
  runtime: ContainerRuntime;
  jobs: Pick<JobRepository, 'findExpirable' | 'markExpired' | 'statuses'>;
}

export interface ExpireInput {
  olderThanDays: number;
}

export interface ExpireReport {
  expiredJobs: number;
  orphanDirs: number;
  /** Job directories (and their volumes) of jobs that had ended: left by a worker that died, or a cleanup that failed. */
  leftoverJobDirs: number;
  /** Removals that failed this time; each is logged and tried again by the next sweep. */
  failed: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A store directory with no row, untouched this long, is what a crash mid-upload left. */
export const ABANDONED_UPLOAD_MS = 60 * 60 * 1000;
const BATCH = 500;

/**
 * Runs `step` for each id; one that fails (a mount that won't let go, say) is
 * logged and left for the next sweep instead of stopping this one.
 */
async function eachId(ids: string[], what: string, step: (id: string) => Promise<void>): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  for (const id of ids) {
    try {
      await step(id);
      done++;
    } catch (err) {
      failed++;
      log.warn(`retention could not remove ${what}; the next sweep tries again`, { jobId: id, error: String(err) });
    }
  }
  return { done, failed };
}

export function createMaintenanceActivities(deps: MaintenanceDeps) {
  return {
    /**
     * Removes the files of jobs that ended more than `olderThanDays` ago and
     * marks their rows expired; rows are kept as history. Directories with no
     * row at all, untouched for an hour (left by an API killed mid-upload, or
     * between write and insert), go too.
     */
    async expireOldJobs({ olderThanDays }: ExpireInput): Promise<ExpireReport> {
      const before = new Date(Date.now() - olderThanDays * DAY_MS);
      let expiredJobs = 0;
      let failed = 0;
      for (;;) {
        const ids = await deps.jobs.findExpirable(before, BATCH);
        const batch = await eachId(ids, 'the files of an expired job', async (id) => {
          await deps.store.remove(id);
          await deps.jobs.markExpired(id);
        });
        expiredJobs += batch.done;
        failed += batch.failed;
        // Ids that failed would come back in the next batch: they wait for the next sweep.
        if (ids.length < BATCH || batch.failed) break;
      }
      const candidates = await deps.store.listAbandoned(new Date(Date.now() - ABANDONED_UPLOAD_MS));
      const known = await deps.jobs.statuses(candidates);
      const orphans = candidates.filter((id) => !known.has(id));
      failed += (await eachId(orphans, 'an abandoned upload', (id) => deps.store.remove(id))).failed;
      // A job directory outlives its job only when a worker died or a cleanup failed; a mounted volume is unmounted first.
      const withDirs = await deps.store.listJobDirs();
      const statuses = await deps.jobs.statuses(withDirs);
      const leftovers = withDirs.filter((id) => {
        const status = statuses.get(id);
        return status !== undefined && isFinalStatus(status);
      });
      failed += (await eachId(leftovers, 'the job directory of an ended job', (id) => deps.store.removeJobDir(id))).failed;
      const report = { expiredJobs, orphanDirs: orphans.length, leftoverJobDirs: leftovers.length, failed };
      if (expiredJobs || orphans.length || leftovers.length || failed) log.info('retention removed files', { ...report, before });
      return report;
    },

    /** Removes job containers whose job has ended or is unknown: what a crashed worker leaves behind. */
    async removeOrphanContainers(): Promise<{ removed: string[] }> {
      const containers = await deps.runtime.listJobContainers();
      const statuses = await deps.jobs.statuses([...new Set(containers.map((c) => c.jobId))]);
      const removed: string[] = [];
      for (const c of containers) {
        const status = statuses.get(c.jobId);
        if (status === undefined || isFinalStatus(status)) {
          try {
            await deps.runtime.removeContainer(c.id);
          } catch (err) {
            log.warn('could not remove an orphaned job container; the next sweep tries again', { containerId: c.id, jobId: c.jobId, error: String(err) });
            continue;
          }
          removed.push(c.id);
          log.warn('removed an orphaned job container', { containerId: c.id, jobId: c.jobId, jobStatus: status ?? 'unknown' });
        }
      }
      return { removed };
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
