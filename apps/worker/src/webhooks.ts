import type { DataSource } from 'typeorm';
import { createWebhookActivities, type WebhookActivities } from '@menagerie/activities';
import type { Settings } from '@menagerie/config';
import { addressRefusal, urlUnderPrefix } from '@menagerie/core';
import { WebhookRepository } from '@menagerie/db';
import type { WorkerMetrics } from '@menagerie/metrics';

/**
 * The webhook activities with this process's settings: secrets are read
 * from default.json here, never stored with a delivery, and a callback's
 * every connection is held to the address rule unless allowPrivate lets it.
 */
export function webhookActivitiesFor(settings: Settings, dataSource: DataSource, metrics?: Pick<WorkerMetrics, 'webhookDelivery'>): WebhookActivities {
  const { targets, callbackSecret, allowPrivate } = settings.webhooks;
  return createWebhookActivities({
    webhooks: new WebhookRepository(dataSource),
    secretFor: (kind, url) => (kind === 'callback' ? callbackSecret || null : (targets.find((t) => t.url === url)?.secret ?? null)),
    refuseAddress: (kind, url) => (kind === 'target' || allowPrivate.some((prefix) => urlUnderPrefix(url, prefix)) ? () => null : addressRefusal),
    observe: (outcome) => metrics?.webhookDelivery(outcome),
  });
}
