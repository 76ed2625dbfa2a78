import { log } from '@temporalio/activity';
import { isFinalStatus } from '@menagerie/core';
import type { JobRetentionRepository, MaintenanceRepository, SubmissionRepository } from '@menagerie/db';
import type { ContainerRuntime } from '@menagerie/runtime';
import type { BlobStore, Scratch } from '@menagerie/storage';
import type { RunningJobs } from './activities';

export interface MaintenanceDeps {
  blobs: BlobStore;
  jobs: Pick<JobRetentionRepository, 'findExpirable' | 'markExpired' | 'statuses'>;
  /** A submission's input is stored once, under its own id: kept while any of its jobs is, and never taken for an orphan. */
  submissions: Pick<SubmissionRepository, 'findExpirable' | 'markExpired' | 'known'>;
  /** Where the orphan sweep stopped, from one run to the next. */
  cursors: Pick<MaintenanceRepository, 'cursor' | 'saveCursor'>;
  /** The orphan sweep's bounds (defaults: ORPHAN_SWEEP). */
  orphans?: Partial<typeof ORPHAN_SWEEP>;
}

/**
 * Retention's sweep of stored files that no row owns: what an API that died
 * between storing and recording left (an upload, or the blobs a cache hit
 * shares before its row is written). Each run reads `perRun` ids at most, a
 * page at a time, from where the last run stopped, so a run is bounded in
 * time and memory at any store size, and every id is seen again after
 * (stored ids / perRun) runs. Files untouched for `graceMs` with no job or
 * submission row go.
 */
export const ORPHAN_SWEEP = { perRun: 20_000, pageSize: 1_000, graceMs: 60 * 60 * 1000 };
const ORPHAN_CURSOR = 'retention.orphans';

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
  jobs: Pick<JobRetentionRepository, 'statuses'>;
  /** The jobs this process runs now: read after listing, so that a run that starts meanwhile is never taken for a leftover. */
  running: RunningJobs;
  /** The nodes of this deployment as the database last heard from them: a node gone this long has its part of a shared scratch root swept. */
  nodes?: { list(): Promise<Array<{ name: string; ageSeconds: number }>> };
  /** The data bundle versions current for some engine: this node's copies of any other go, once no run holds them. */
  bundles?: { currentSet(): Promise<Set<string>> };
}

/**
 * A node not heard from for this long is gone for good (a compose replica
 * recreated under a new host name, a node renamed): what it left in a shared
 * scratch root is removed by a node that shares it. Long past the heartbeat
 * timeout, by which its jobs ran again elsewhere. Never a node the database
 * has not heard of: that may be another deployment's on a root shared by
 * mistake.
 */
export const GONE_NODE_SECONDS = 60 * 60;

export interface NodeSweepReport {
  removedContainers: string[];
  removedJobDirs: number;
  failed: number;
  /** Nodes gone for good whose part of a shared scratch root was removed. */
  retiredNodes?: string[];
  /** This node's copies of data bundle versions no longer current, removed. */
  removedBundles?: string[];
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
      deps.log.warn('could not remove an orphaned job container; the next sweep tries again', {
        containerId: c.id,
        jobId: c.jobId,
        error: String(err),
      });
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
  const retired = await retireGoneNodes(deps);
  const bundles = await sweepBundleCopies(deps);
  failed += retired.failed + bundles.failed;
  const report = {
    removedContainers,
    removedJobDirs: removed.done,
    failed,
    ...(retired.nodes.length ? { retiredNodes: retired.nodes } : {}),
    ...(bundles.removed.length ? { removedBundles: bundles.removed } : {}),
  };
  if (removedContainers.length || removed.done || failed || retired.nodes.length || bundles.removed.length)
    deps.log.info('node sweep removed leftovers', { node: deps.node, ...report });
  return report;
}

/** Removes this node's copies of the bundle versions no longer current (NodeBundles.sweep leaves those a run holds). */
async function sweepBundleCopies(deps: NodeSweepDeps): Promise<{ removed: string[]; failed: number }> {
  if (!deps.bundles) return { removed: [], failed: 0 };
  try {
    return { removed: await deps.scratch.bundles.sweep(await deps.bundles.currentSet()), failed: 0 };
  } catch (err) {
    deps.log.warn('could not remove old data bundle copies; the next sweep tries again', { error: String(err) });
    return { removed: [], failed: 1 };
  }
}

/** Removes the parts of the scratch root that nodes gone for GONE_NODE_SECONDS left. */
async function retireGoneNodes(deps: NodeSweepDeps): Promise<{ nodes: string[]; failed: number }> {
  const others = deps.nodes ? await deps.scratch.otherNodes() : [];
  if (!others.length) return { nodes: [], failed: 0 };
  const seen = new Map((await deps.nodes!.list()).map((n) => [n.name, n.ageSeconds]));
  const nodes: string[] = [];
  let failed = 0;
  for (const name of others) {
    const age = seen.get(name);
    if (age === undefined || age < GONE_NODE_SECONDS) continue;
    try {
      await deps.scratch.ofNode(name).retire();
      nodes.push(name);
      deps.log.warn('removed the scratch directories of a node gone for good', { gone: name, lastSeenSecondsAgo: Math.round(age) });
    } catch (err) {
      failed++;
      deps.log.warn('could not remove the scratch directories of a node gone for good; the next sweep tries again', {
        gone: name,
        error: String(err),
      });
    }
  }
  return { nodes, failed };
}

export interface ExpireInput {
  olderThanDays: number;
}

export interface ExpireReport {
  expiredJobs: number;
  /** Submissions whose shared input went, once every job using it had expired. */
  expiredSubmissions: number;
  /** Stored files with no row (see ORPHAN_SWEEP), removed. */
  orphanDirs: number;
  /** Ids the orphan sweep read this run (at most ORPHAN_SWEEP.perRun). */
  orphanIdsRead: number;
  /** Removals that failed this time; each is logged and tried again by the next sweep. */
  failed: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A multipart upload (or a partial file) unfinished this long is what a process that died mid-upload left. */
export const ABANDONED_UPLOAD_MS = 60 * 60 * 1000;
const BATCH = 500;

/**
 * Runs `step` for each id; one that fails (a mount that won't let go, say) is
 * logged and left for the next sweep instead of stopping this one.
 */
async function eachId(
  ids: string[],
  what: string,
  step: (id: string) => Promise<void>,
  logger: SweepLog = log,
): Promise<{ done: number; failed: number }> {
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
  const bounds = { ...ORPHAN_SWEEP, ...deps.orphans };

  /** One bounded pass of the orphan sweep, from where the last one stopped. */
  async function sweepOrphans(): Promise<{ removed: number; read: number; failed: number }> {
    const before = new Date(Date.now() - bounds.graceMs);
    let after = await deps.cursors.cursor(ORPHAN_CURSOR);
    let read = 0;
    let removed = 0;
    let failed = 0;
    while (read < bounds.perRun) {
      const page = await deps.blobs.listIds(after, Math.min(bounds.pageSize, bounds.perRun - read));
      read += page.ids.length;
      // A submission's input has no job row of its own id: its submission row is what makes it known.
      const [jobs, submissions] = await Promise.all([deps.jobs.statuses(page.ids), deps.submissions.known(page.ids)]);
      const orphans: string[] = [];
      for (const id of page.ids.filter((id) => !jobs.has(id) && !submissions.has(id))) {
        const written = await deps.blobs.lastWritten(id);
        if (written && written < before) orphans.push(id);
      }
      const batch = await eachId(orphans, 'stored files no job owns', (id) => deps.blobs.remove(id));
      removed += batch.done;
      failed += batch.failed;
      after = page.next;
      // The end of the store: the next run starts over.
      if (after === null) break;
    }
    await deps.cursors.saveCursor(ORPHAN_CURSOR, after);
    return { removed, read, failed };
  }

  return {
    /**
     * Removes the files of jobs that ended more than `olderThanDays` ago and
     * marks their rows expired; rows are kept as history. Stored files no row
     * owns, untouched for an hour, go too (ORPHAN_SWEEP: a bounded part of
     * the store per run). A submission's shared input goes once every job of
     * it has expired.
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
      const orphans = await sweepOrphans();
      failed += orphans.failed;
      const report = { expiredJobs, expiredSubmissions, orphanDirs: orphans.removed, orphanIdsRead: orphans.read, failed };
      if (expiredJobs || expiredSubmissions || orphans.removed || failed) log.info('retention removed files', { ...report, before });
      return report;
    },

    /**
     * Aborts the multipart uploads (the partial files, on a directory) that a
     * process which died mid-upload left unfinished for an hour: on a schedule
     * of their own (menagerie-stale-uploads), so however long retention's
     * sweep takes, they are never left behind it.
     */
    async abortStaleUploads(): Promise<{ aborted: number }> {
      const aborted = await deps.blobs.abortStaleUploads(new Date(Date.now() - ABANDONED_UPLOAD_MS));
      if (aborted) log.info('aborted unfinished uploads', { aborted });
      return { aborted };
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
