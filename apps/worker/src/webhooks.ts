import type { DataSource } from 'typeorm';
import { callbackKey, createWebhookActivities, type WebhookActivities } from '@menagerie/activities';
import type { Settings } from '@menagerie/config';
import { addressRefusal, shownUrl, urlUnderPrefix } from '@menagerie/core';
import { WebhookRepository } from '@menagerie/db';
import type { WorkerMetrics } from '@menagerie/metrics';

/**
 * The webhook activities with this process's settings: secrets are read
 * from default.json here, never stored with a delivery (a callback is signed
 * with a key of its own, derived from callbackSecret for its origin); a callback's every
 * attempt is held to callbackAllow as it is now, and its every connection to
 * the address rule unless allowPrivate lets it.
 */
export function webhookActivitiesFor(
  settings: Settings,
  dataSource: DataSource,
  metrics?: Pick<WorkerMetrics, 'webhookDelivery'>,
): WebhookActivities {
  const { targets, callbackSecret, allowPrivate, callbackAllow } = settings.webhooks;
  return createWebhookActivities({
    webhooks: new WebhookRepository(dataSource),
    keyFor: (kind, url) =>
      kind === 'callback'
        ? callbackSecret
          ? callbackKey(callbackSecret, url)
          : null
        : (targets.find((t) => t.url === url)?.secret ?? null),
    receiverRefusal: callbackRefusal(callbackAllow),
    refuseAddress: (kind, url) =>
      kind === 'target' || allowPrivate.some((prefix) => urlUnderPrefix(url, prefix)) ? () => null : addressRefusal,
    observe: (outcome) => metrics?.webhookDelivery(outcome),
  });
}

/** The allowlist as this worker has it now, at each attempt: a list narrowed since a callback was accepted stops its deliveries. */
export function callbackRefusal(callbackAllow: readonly string[]) {
  return (kind: 'target' | 'callback', url: string): string | null =>
    kind === 'callback' && !callbackAllow.some((prefix) => urlUnderPrefix(url, prefix))
      ? `${shownUrl(url)} is no longer under a prefix of webhooks.callbackAllow`
      : null;
}
