import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  deprecatePatch,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  completedJob,
  containerQueueFor,
  FAILURE_TYPES,
  WORKFLOW_PATCHES,
  withoutEnvValues,
  type EngineJobInput,
  type FailureDetails,
  type FinalStatusRecord,
  type JobRun,
  type RunFacts,
} from '@menagerie/core';
import type { Activities } from '@menagerie/activities';
import { nodeKey, recordVersion } from './versions';

/** A database outage of up to a minute is ridden out locally... */
const finalLocally = proxyLocalActivities<Activities>({
  scheduleToCloseTimeout: '1 minute',
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', backoffCoefficient: 2 },
  localRetryThreshold: '3 seconds',
});
/** ...a longer one as a regular activity retried without limit, whose retries add nothing to the history. */
const finalDurably = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

async function recordOutcome(outcome: FinalStatusRecord): Promise<void> {
  try {
    return await finalLocally.recordJobStatus(outcome);
  } catch (err) {
    log.warn('final status not recorded yet; retrying it as a regular activity', { jobId: outcome.jobId, error: String(err) });
  }
  await finalDurably.recordJobStatus(outcome);
}

/**
 * The run, on the engine's container queue: fetch the input from the store,
 * run the container, put the result and log back, clear the scratch, all on
 * the node that takes it, so a retry may land on any node. The run's own
 * timeout is enforced inside the activity; Temporal's, the engine's plus room
 * to move the input and result, is the safety net. A worker killed mid-run is
 * noticed this long after its last heartbeat (sent every second). Only
 * infrastructure errors are retried (engine failures are not): about 30 s of
 * grace for a restarting dockerd.
 */
function runJobFor(input: EngineJobInput) {
  return proxyActivities<Activities>({
    taskQueue: containerQueueFor(input.engine.name),
    startToCloseTimeout: `${Math.ceil(input.engine.timeout) + 600} seconds`,
    heartbeatTimeout: '20 seconds',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { maximumAttempts: 5, initialInterval: '2 seconds', backoffCoefficient: 2 },
  }).runJob;
}

/** Turns how a job ended into the row the database will keep. */
export function describeFailure(jobId: string, err: unknown): FinalStatusRecord {
  if (isCancellation(err)) return { jobId, status: 'cancelled', error: 'cancelled by request' };
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as FailureDetails;
    return {
      jobId,
      status: cause.type === FAILURE_TYPES.engineTimeout ? 'timed_out' : 'failed',
      error: cause.message,
      exitCode: details.exitCode ?? null,
      logTail: details.logTail ?? null,
      ...runFacts(details),
      ...(details.node ? { node: details.node } : {}),
    };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { jobId, status: 'failed', error: message };
}

function runFacts(facts: RunFacts): RunFacts {
  return { imageDigest: facts.imageDigest ?? null, startedAt: facts.startedAt ?? null };
}

/**
 * One job, to its final status on every path, cancellation included: one
 * runJob activity on the node that takes it, then recordJobStatus. The node
 * is recorded on the job and as a search attribute.
 *
 * Versions (WORKFLOW_VERSIONS in core): v4 introduced this shape; v5 records
 * its version at its start. The code of v1–v3 is gone, and the patch that
 * separated them from v4 is deprecated: workers refuse to start while a
 * workflow of those versions is open (refuseUnrunnableWorkflows).
 */
export async function engineJob(started: EngineJobInput): Promise<FinalStatusRecord> {
  deprecatePatch(WORKFLOW_PATCHES.nodeLocalRun);
  recordVersion('engineJob');
  const { jobId } = started;
  // An API from before names-only inputs sent the environment's values: the worker reads them from its own configuration.
  const input = { ...started, engine: { ...started.engine, runflags: withoutEnvValues(started.engine.runflags) } };
  let outcome: FinalStatusRecord;
  let cancellation: unknown;
  try {
    const run: JobRun = await runJobFor(input)(input);
    outcome = completedJob(jobId, run);
  } catch (err) {
    outcome = describeFailure(jobId, err);
    if (outcome.status === 'cancelled') cancellation = err;
    log.warn('job did not complete', { jobId, status: outcome.status, error: outcome.error });
  }
  if (outcome.node) upsertSearchAttributes([{ key: nodeKey, value: outcome.node }]);
  await CancellationScope.nonCancellable(() => recordOutcome(outcome));
  return ended(outcome, cancellation);
}

function ended(outcome: FinalStatusRecord, cancellation: unknown): FinalStatusRecord {
  // Rethrowing the cancellation marks the workflow itself cancelled.
  if (cancellation) throw cancellation;
  if (outcome.status !== 'completed') {
    // Failing the workflow too makes the job stand out in the Temporal Web UI.
    throw ApplicationFailure.create({ message: outcome.error ?? outcome.status, type: outcome.status, nonRetryable: true });
  }
  return outcome;
}
