import { log } from '@temporalio/activity';
import { isFinalStatus } from '@menagerie/core';
import type { JobRepository, SubmissionRepository } from '@menagerie/db';
import type { ContainerRuntime } from '@menagerie/runtime';
import type { BlobStore, Scratch } from '@menagerie/storage';
import type { RunningJobs } from './activities';

export interface MaintenanceDeps {
  blobs: BlobStore;
  jobs: Pick<JobRepository, 'findExpirable' | 'markExpired' | 'statuses'>;
  /** A submission's input is stored once, under its own id: kept while any of its jobs is, and never taken for an abandoned upload. */
  submissions: Pick<SubmissionRepository, 'findExpirable' | 'markExpired' | 'known'>;
  /** This node's sweep, for the retention workflows from before each node swept itself. */
  sweepNode(): Promise<NodeSweepReport>;
}

/** The activity logger's shape; a node's sweep also runs outside any activity, at boot and on a timer. */
export interface SweepLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface NodeSweepDeps {
  node: string;
  log: SweepLog;
  runtime: ContainerRuntime;
  scratch: Scratch;
  jobs: Pick<JobRepository, 'statuses'>;
  /** The jobs this process runs now: read after listing, so that a run that starts meanwhile is never taken for a leftover. */
  running: RunningJobs;
}

export interface NodeSweepReport {
  removedContainers: string[];
  removedJobDirs: number;
  failed: number;
}

/**
 * What a node leaves behind when it dies mid-run, or a cleanup fails: its
 * job containers and scratch directories. Each node sweeps its own (at boot,
 * and then periodically), never another node's:
 * - a container it made (or an unlabelled one from before nodes) that no run
 *   of this process owns is an orphan;
 * - a scratch directory that no run of this process owns is left once its job
 *   has ended, or has no row (a workflow from before version 4 stages the
 *   directory in one step and runs it in the next).
 */
export async function sweepNode(deps: NodeSweepDeps): Promise<NodeSweepReport> {
  let failed = 0;
  const containers = (await deps.runtime.listJobContainers()).filter((c) => c.node === deps.node || c.node === null);
  const removedContainers: string[] = [];
  for (const c of containers.filter((c) => !deps.running.has(c.jobId))) {
    try {
      await deps.runtime.removeContainer(c.id);
      removedContainers.push(c.id);
      deps.log.warn('removed an orphaned job container', { containerId: c.id, jobId: c.jobId, node: deps.node });
    } catch (err) {
      failed++;
      deps.log.warn('could not remove an orphaned job container; the next sweep tries again', { containerId: c.id, jobId: c.jobId, error: String(err) });
    }
  }
  const dirs = await deps.scratch.list();
  const statuses = await deps.jobs.statuses(dirs);
  const leftovers = dirs.filter((id) => {
    if (deps.running.has(id)) return false;
    const status = statuses.get(id);
    return status === undefined || isFinalStatus(status);
  });
  const removed = await eachId(leftovers, 'a leftover job directory', (id) => deps.scratch.remove(id), deps.log);
  failed += removed.failed;
  const report = { removedContainers, removedJobDirs: removed.done, failed };
  if (removedContainers.length || removed.done || failed) deps.log.info('node sweep removed leftovers', { node: deps.node, ...report });
  return report;
}

export interface ExpireInput {
  olderThanDays: number;
}

export interface ExpireReport {
  expiredJobs: number;
  /** Submissions whose shared input went, once every job using it had expired. */
  expiredSubmissions: number;
  /** Stored uploads with no row: left by an API that died between storing a file and recording its job. */
  orphanDirs: number;
  /** Multipart uploads never finished, aborted (an API that died mid-upload to S3). */
  abortedUploads: number;
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
async function eachId(ids: string[], what: string, step: (id: string) => Promise<void>, logger: SweepLog = log): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  for (const id of ids) {
    try {
      await step(id);
      done++;
    } catch (err) {
      failed++;
      logger.warn(`could not remove ${what}; the next sweep tries again`, { jobId: id, error: String(err) });
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
     * between write and insert), go too. A submission's shared input goes
     * once every job of it has expired.
     */
    async expireOldJobs({ olderThanDays }: ExpireInput): Promise<ExpireReport> {
      const before = new Date(Date.now() - olderThanDays * DAY_MS);
      let expiredJobs = 0;
      let failed = 0;
      for (;;) {
        const ids = await deps.jobs.findExpirable(before, BATCH);
        const batch = await eachId(ids, 'the files of an expired job', async (id) => {
          await deps.blobs.remove(id);
          await deps.jobs.markExpired(id);
        });
        expiredJobs += batch.done;
        failed += batch.failed;
        // Ids that failed would come back in the next batch: they wait for the next sweep.
        if (ids.length < BATCH || batch.failed) break;
      }
      let expiredSubmissions = 0;
      for (;;) {
        const ids = await deps.submissions.findExpirable(BATCH);
        const batch = await eachId(ids, 'the input of an expired submission', async (id) => {
          await deps.blobs.remove(id);
          await deps.submissions.markExpired(id);
        });
        expiredSubmissions += batch.done;
        failed += batch.failed;
        if (ids.length < BATCH || batch.failed) break;
      }
      const abandonedBefore = new Date(Date.now() - ABANDONED_UPLOAD_MS);
      const candidates = await deps.blobs.listAbandoned(abandonedBefore);
      // A submission's input has no job row of its own id: its submission row is what makes it known.
      const [known, submissions] = await Promise.all([deps.jobs.statuses(candidates), deps.submissions.known(candidates)]);
      const orphans = candidates.filter((id) => !known.has(id) && !submissions.has(id));
      failed += (await eachId(orphans, 'an abandoned upload', (id) => deps.blobs.remove(id))).failed;
      const abortedUploads = await deps.blobs.abortStaleUploads(abandonedBefore);
      const report = { expiredJobs, expiredSubmissions, orphanDirs: orphans.length, abortedUploads, failed };
      if (expiredJobs || expiredSubmissions || orphans.length || abortedUploads || failed) log.info('retention removed files', { ...report, before });
      return report;
    },

    /** The retention workflows from before each node swept itself ran this: it sweeps the node that takes it. */
    async removeOrphanContainers(): Promise<{ removed: string[] }> {
      return { removed: (await deps.sweepNode()).removedContainers };
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
