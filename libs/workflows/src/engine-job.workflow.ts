import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  completedJob,
  containerQueueFor,
  FAILURE_TYPES,
  withoutEnvValues,
  type EngineJobInput,
  type EngineRun,
  type FailureDetails,
  type FinalizeJobInput,
  type JobRun,
  type RunFacts,
  SEARCH_ATTRIBUTES,
} from '@menagerie/core';
import type { Activities } from '@menagerie/activities';

/*
 * The short steps are local activities: they run in the workflow's own worker
 * (which shares the store with the container worker), so each one costs no
 * extra round trip through the Temporal server. Only the container run is a
 * regular activity, on the engine's container queue. Workflows started before
 * this change replay with regular activities (see LOCAL_STEPS).
 */
const LOCAL_STEPS = 'short-steps-as-local-activities';

/*
 * From this version on, (a) activities are scheduled with the engine's
 * environment names only, never its values (the worker reads them from its
 * own configuration), even for an input an older API started with values;
 * and (b) the final status carries the image digest and start time of the
 * run, which were written only by the best-effort "running" update before.
 */
const RUN_FACTS_AND_ENV_NAMES = 'run-facts-and-env-names';

/*
 * From this version on, the whole run happens on the node that takes it, in
 * one activity on the engine's container queue (runJob): fetch the input from
 * the store, run the container, put the result and log back, clear the
 * scratch. The only other step records the final status in the database
 * (recordJobStatus), so no two steps need to share a disk, and a retry may
 * land on any node. The node is recorded on the job and as a search attribute.
 */
const NODE_LOCAL_RUN = 'node-local-run';

const nodeKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.node, SearchAttributeType.KEYWORD);

const shortStepOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
} as const;
// Longer local backoffs wait on a workflow timer rather than holding a workflow task open.
const localSteps = proxyLocalActivities<Activities>({ ...shortStepOptions, localRetryThreshold: '3 seconds' });
const regularSteps = proxyActivities<Activities>(shortStepOptions);

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

/**
 * Before version 4, finalizeJob also cleared the job's containers and scratch
 * directory on the workflow's worker; from it on, runJob clears its own node,
 * and recordJobStatus only writes the row.
 */
async function recordFinalStatus(outcome: FinalizeJobInput, local: boolean, step: 'finalizeJob' | 'recordJobStatus'): Promise<void> {
  if (local) {
    try {
      return await finalLocally[step](outcome);
    } catch (err) {
      log.warn('final status not recorded yet; retrying it as a regular activity', { jobId: outcome.jobId, error: String(err) });
    }
  }
  await finalDurably[step](outcome);
}

/**
 * The activities on the engine's container queue. The run's own timeout is
 * enforced inside the activity; Temporal's, the engine's plus `roomSeconds`,
 * is the safety net. A worker killed mid-run is noticed this long after its
 * last heartbeat (sent every second), and the retry may run on another node.
 * Only infrastructure errors are retried (engine failures are not): about
 * 30 s of grace for a restarting dockerd.
 */
function onContainerQueue(input: EngineJobInput, roomSeconds: number) {
  return proxyActivities<Activities>({
    taskQueue: containerQueueFor(input.engine.name),
    startToCloseTimeout: `${Math.ceil(input.engine.timeout) + roomSeconds} seconds`,
    heartbeatTimeout: '20 seconds',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { maximumAttempts: 5, initialInterval: '2 seconds', backoffCoefficient: 2 },
  });
}

/** Before version 4: the container step alone. */
const runEngineFor = (input: EngineJobInput) => onContainerQueue(input, 120).runEngine;
/** Version 4: the whole node-local run, with room to move the input and result. */
const runJobFor = (input: EngineJobInput) => onContainerQueue(input, 600).runJob;

/** Turns how a job ended into the row the database will keep. */
export function describeFailure(jobId: string, err: unknown, withFacts = false): FinalizeJobInput {
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
      ...(withFacts ? runFacts(details) : {}),
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
 * One job, to its final status on every path, cancellation included. New
 * workflows take `nodeLocalJob` (one runJob activity on the node, then
 * recordJobStatus); the rest of this body is the path of workflows started
 * before it (stage, run, store and finalizeJob as separate activities), kept
 * for as long as such workflows may be open (see the replay tests).
 */
export async function engineJob(started: EngineJobInput): Promise<FinalizeJobInput> {
  if (patched(NODE_LOCAL_RUN)) return nodeLocalJob(started);
  const { jobId } = started;
  const local = patched(LOCAL_STEPS);
  const v3 = patched(RUN_FACTS_AND_ENV_NAMES);
  const input = v3 ? { ...started, engine: { ...started.engine, runflags: withoutEnvValues(started.engine.runflags) } } : started;
  const { stageInput, storeResult } = local ? localSteps : regularSteps;
  let outcome: FinalizeJobInput;
  let cancellation: unknown;
  let run: EngineRun | undefined;
  try {
    await stageInput(input);
    run = await runEngineFor(input)(input);
    const result = await storeResult(input);
    outcome = { jobId, status: 'completed', exitCode: run.exitCode, logTail: run.logTail, result, ...(v3 ? runFacts(run) : {}) };
  } catch (err) {
    outcome = describeFailure(jobId, err, v3);
    // The engine ran, and its result was refused (missing, not a regular file, too large): the row still says what ran.
    if (v3 && run) outcome = { ...outcome, ...runFacts(run) };
    if (outcome.status === 'cancelled') cancellation = err;
    log.warn('job did not complete', { jobId, status: outcome.status, error: outcome.error });
  }
  await CancellationScope.nonCancellable(() => recordFinalStatus(outcome, local, 'finalizeJob'));
  return ended(outcome, cancellation);
}

/** Version 4: one node-local activity, then the final status. */
async function nodeLocalJob(started: EngineJobInput): Promise<FinalizeJobInput> {
  const { jobId } = started;
  const input = { ...started, engine: { ...started.engine, runflags: withoutEnvValues(started.engine.runflags) } };
  let outcome: FinalizeJobInput;
  let cancellation: unknown;
  try {
    const run: JobRun = await runJobFor(input)(input);
    outcome = completedJob(jobId, run);
  } catch (err) {
    outcome = describeFailure(jobId, err, true);
    if (outcome.status === 'cancelled') cancellation = err;
    log.warn('job did not complete', { jobId, status: outcome.status, error: outcome.error });
  }
  if (outcome.node) upsertSearchAttributes([{ key: nodeKey, value: outcome.node }]);
  await CancellationScope.nonCancellable(() => recordFinalStatus(outcome, true, 'recordJobStatus'));
  return ended(outcome, cancellation);
}

function ended(outcome: FinalizeJobInput, cancellation: unknown): FinalizeJobInput {
  // Rethrowing the cancellation marks the workflow itself cancelled.
  if (cancellation) throw cancellation;
  if (outcome.status !== 'completed') {
    // Failing the workflow too makes the job stand out in the Temporal Web UI.
    throw ApplicationFailure.create({ message: outcome.error ?? outcome.status, type: outcome.status, nonRetryable: true });
  }
  return outcome;
}
