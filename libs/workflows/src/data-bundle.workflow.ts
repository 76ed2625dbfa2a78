import { proxyActivities } from '@temporalio/workflow';
import { containerQueueFor, type DataCheckInput, type DataCheckOutcome } from '@menagerie/core';
import type { Activities } from '@menagerie/activities';

/** How long a check waits for a node of the engine to take it: the API answers the push meanwhile. */
export const DATA_CHECK_PICKUP_SECONDS = 60;

/**
 * A pushed data bundle version's check (the engine's `datacheck`): one
 * activity on the engine's container queue, so on any node that serves the
 * engine and within its `workers`, and the outcome handed back to the API
 * that waits for it. Infrastructure failures are retried a few times; a
 * check no node takes within DATA_CHECK_PICKUP_SECONDS fails, as no node
 * serves the engine then. A workflow type of its own (no earlier version to
 * replay); it changes nothing itself: the API records the outcome.
 */
export async function dataBundleCheck(input: DataCheckInput): Promise<DataCheckOutcome> {
  const { checkDataBundle } = proxyActivities<Activities>({
    taskQueue: containerQueueFor(input.engine.name),
    scheduleToStartTimeout: `${DATA_CHECK_PICKUP_SECONDS} seconds`,
    startToCloseTimeout: `${Math.ceil(input.engine.timeout) + 300} seconds`,
    heartbeatTimeout: '20 seconds',
    retry: { maximumAttempts: 3, initialInterval: '2 seconds', backoffCoefficient: 2 },
  });
  return checkDataBundle(input);
}
