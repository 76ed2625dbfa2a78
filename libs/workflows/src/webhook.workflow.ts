import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import { WEBHOOK_NON_RETRYABLE, type WebhookDeliveryInput } from '@menagerie/core';
import type { WebhookActivities } from '@menagerie/activities';

/** Recording the outcome waits out a database outage: retried without limit, backoff capped at a minute. */
const { recordWebhookGivenUp } = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * One delivery of one webhook event to one receiver: the `deliverWebhook`
 * activity, retried with exponential backoff until it is answered 2xx or
 * the deadline (24 h by default) passes; then the delivery is recorded
 * failed. The job it tells of ended before this started: nothing here
 * touches the job.
 */
export async function webhookDelivery(input: WebhookDeliveryInput): Promise<'delivered' | 'failed'> {
  const { retry } = input;
  const { deliverWebhook } = proxyActivities<WebhookActivities>({
    // An attempt is bounded at 10 s by the activity itself; this covers a worker that died during one.
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: retry.giveUpSeconds * 1000,
    retry: {
      initialInterval: retry.initialSeconds * 1000,
      backoffCoefficient: 2,
      maximumInterval: retry.maxIntervalSeconds * 1000,
      nonRetryableErrorTypes: WEBHOOK_NON_RETRYABLE,
    },
  });
  try {
    await deliverWebhook(input.deliveryId);
    return 'delivered';
  } catch (err) {
    const reason = err instanceof ActivityFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
    log.warn('webhook delivery given up', { deliveryId: input.deliveryId, reason });
    await recordWebhookGivenUp(input.deliveryId, `given up: ${reason}`);
    return 'failed';
  }
}
