import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { shownUrl, WEBHOOK_DELIVERY_HEADER, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@menagerie/core';
import type { WebhookReceiverKind, WebhookRepository } from '@menagerie/db';
import { postWebhook, type WebhookPostLimits } from './webhook-http';
import { signWebhook } from './webhook-signature';

/** What a delivery attempt may take: a bounded connect, answer and body, so a slow receiver can't hold a worker. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
export const WEBHOOK_MAX_RESPONSE_BYTES = 4096;

export interface WebhookDeps {
  webhooks: Pick<WebhookRepository, 'delivery' | 'recordAttempt' | 'markFailed'>;
  /** The key that signs deliveries to this receiver (a target's secret, a callback's derived key: callbackKey); null when it is no longer configured. */
  keyFor(kind: WebhookReceiverKind, url: string): string | null;
  /**
   * Why the receiver may no longer be called, asked at each attempt (a
   * callback no longer under webhooks.callbackAllow, narrowed since it was
   * accepted), or null.
   */
  receiverRefusal?(kind: WebhookReceiverKind, url: string): string | null;
  /** Why a callback must not reach `ip` (the address rule, unless allowPrivate lets its URL), or null. Configured targets are the operator's own: never refused. */
  refuseAddress(kind: WebhookReceiverKind, url: string): (ip: string) => string | null;
  limits?: Partial<Pick<WebhookPostLimits, 'timeoutMs' | 'maxResponseBytes'>>;
  now?: () => Date;
  /** Counts each attempt's outcome, and each delivery given up (menagerie_webhook_deliveries_total). */
  observe?: (outcome: 'delivered' | 'failed' | 'given_up') => void;
}

export function createWebhookActivities(deps: WebhookDeps) {
  const now = deps.now ?? (() => new Date());
  const observe = deps.observe ?? (() => undefined);
  return {
    /**
     * One attempt at a delivery: signs the stored body (with this attempt's
     * time), POSTs it, and records the attempt; a 2xx records it delivered
     * in the same write. Anything else throws, and Temporal retries with
     * backoff until the workflow's deadline. A retry after a crash may send
     * the body again: the delivery id lets the receiver drop the second.
     */
    async deliverWebhook(deliveryId: string): Promise<'delivered' | 'already ended'> {
      const delivery = await deps.webhooks.delivery(deliveryId);
      if (!delivery) throw ApplicationFailure.nonRetryable(`no delivery ${deliveryId}`, 'WebhookDeliveryMissing');
      if (delivery.status === 'delivered' || delivery.status === 'failed') return 'already ended';
      const attempt = Context.current().info.attempt;
      const at = now();
      const refusal = deps.receiverRefusal?.(delivery.kind, delivery.url) ?? null;
      const key = refusal === null ? deps.keyFor(delivery.kind, delivery.url) : null;
      if (key === null) {
        const error =
          refusal ??
          (delivery.kind === 'callback'
            ? 'webhooks.callbackSecret is no longer set'
            : `${shownUrl(delivery.url)} is no longer a configured webhook target`);
        await deps.webhooks.recordAttempt({ deliveryId, attempt, at, statusCode: null, latencyMs: 0, error }, false);
        observe('failed');
        throw ApplicationFailure.nonRetryable(error, 'WebhookReceiverGone');
      }
      const outcome = await postWebhook(
        delivery.url,
        delivery.body,
        {
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(key, delivery.url, delivery.body, Math.floor(at.getTime() / 1000)),
          [WEBHOOK_EVENT_HEADER]: delivery.event,
          [WEBHOOK_DELIVERY_HEADER]: delivery.id,
        },
        {
          timeoutMs: deps.limits?.timeoutMs ?? WEBHOOK_TIMEOUT_MS,
          maxResponseBytes: deps.limits?.maxResponseBytes ?? WEBHOOK_MAX_RESPONSE_BYTES,
          refuseAddress: deps.refuseAddress(delivery.kind, delivery.url),
        },
      );
      await deps.webhooks.recordAttempt(
        { deliveryId, attempt, at, statusCode: outcome.statusCode, latencyMs: outcome.latencyMs, error: outcome.error },
        outcome.delivered,
      );
      observe(outcome.delivered ? 'delivered' : 'failed');
      const meta = { deliveryId, event: delivery.event, attempt, statusCode: outcome.statusCode, latencyMs: outcome.latencyMs };
      if (outcome.delivered) {
        log.info('webhook delivered', meta);
        return 'delivered';
      }
      log.warn('webhook attempt failed', { ...meta, error: outcome.error });
      if (outcome.refused) throw ApplicationFailure.nonRetryable(outcome.error ?? 'refused', 'WebhookAddressRefused');
      throw ApplicationFailure.retryable(outcome.error ?? 'not delivered', 'WebhookNotDelivered');
    },

    /** The workflow gave up (its deadline passed, or a failure no retry mends): recorded failed, unless it was delivered. */
    async recordWebhookGivenUp(deliveryId: string, reason: string): Promise<void> {
      await deps.webhooks.markFailed(deliveryId, reason);
      observe('given_up');
      log.warn('webhook given up', { deliveryId, reason });
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
