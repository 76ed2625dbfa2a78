import { log } from '@temporalio/activity';
import { completedJob, settledWithin, type FinalStatusRecord, type JobRun } from '@menagerie/core';
import type { RunDeps } from './deps';

/** How long runJob waits for its early record of a completed job before it returns anyway. */
const EARLY_RECORD_MS = 2000;

/** The final status, once; a value PostgreSQL refuses is recorded without the engine's output. */
export async function recordFinalStatus(deps: RunDeps, input: FinalStatusRecord): Promise<void> {
  let ended;
  try {
    ended = await deps.jobs.recordFinalStatus(input);
  } catch (err) {
    // A value PostgreSQL refuses (SQLSTATE class 22) would otherwise be retried forever.
    if (!String((err as { code?: unknown }).code ?? '').startsWith('22')) throw err;
    log.warn('final status refused by the database; recording it without the engine output', { jobId: input.jobId });
    ended = await deps.jobs.recordFinalStatus({
      ...input,
      logTail: null,
      error: input.error ? input.error.replace(/[^\x20-\x7e]/g, '?') : null,
    });
  }
  // Null (or nothing, from an older repository): the job had ended already, and was counted then.
  if (ended) {
    const queuedSeconds = ended.startedAt ? (ended.startedAt.getTime() - ended.createdAt.getTime()) / 1000 : null;
    deps.observer?.jobEnded({ engine: ended.engine, status: input.status, queuedSeconds });
  }
}

/**
 * A completed run is recorded here, at once, rather than only by the workflow's next task: the job's
 * waiters hear of it some 20 ms sooner. Best-effort and bounded (the workflow's recordJobStatus, which
 * records the very same row, is what guarantees it); the first final status written wins.
 */
export async function recordCompletedNow(deps: RunDeps, run: JobRun, jobId: string): Promise<void> {
  const recorded = recordFinalStatus(deps, completedJob(jobId, run)).catch((err: unknown) => {
    log.warn('could not record the completed job yet; the workflow will', { jobId, error: String(err) });
  });
  await settledWithin(recorded, EARLY_RECORD_MS);
}

/** The run an earlier attempt recorded as completed, as runJob returned it; null when there is none. */
export async function recordedRun(deps: RunDeps, jobId: string): Promise<JobRun | null> {
  const row = await deps.jobs.findById(jobId);
  if (row?.status !== 'completed' || !row.resultName) return null;
  log.info('an earlier attempt already completed this job; not running it again', { jobId });
  return {
    exitCode: row.exitCode ?? 0,
    imageDigest: row.imageDigest,
    startedAt: row.startedAt?.toISOString() ?? null,
    logTail: row.logTail ?? '',
    node: row.node ?? deps.node,
    result: { name: row.resultName, size: row.resultSize ?? 0, mime: row.resultMime ?? 'application/octet-stream' },
  };
}
