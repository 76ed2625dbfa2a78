import { shownUrl } from '@menagerie/core';
import type { WebhookDeliveryReport } from '@menagerie/db';

/** A delivery as GET /jobs/<id>/webhooks and the console show it. */
export interface WebhookDeliveryView {
  deliveryId: string;
  event: string;
  /** "target": a deployment-wide target of default.json; "callback": the upload's or submission's callback. */
  receiver: 'target' | 'callback';
  /** Without its query string, which often carries the receiver's own token. */
  url: string;
  /** pending (its workflow not started yet), delivering (being tried), delivered (answered 2xx), failed (given up). */
  status: string;
  jobId: string | null;
  submissionId: string | null;
  createdAt: string;
  finishedAt: string | null;
  lastError: string | null;
  attempts: Array<{ attempt: number; at: string; statusCode: number | null; latencyMs: number; error: string | null }>;
}

export function toWebhookView(d: WebhookDeliveryReport): WebhookDeliveryView {
  return {
    deliveryId: d.id,
    event: d.event,
    receiver: d.kind,
    url: shownUrl(d.url),
    status: d.status,
    jobId: d.jobId,
    submissionId: d.submissionId,
    createdAt: d.createdAt.toISOString(),
    finishedAt: d.finishedAt?.toISOString() ?? null,
    lastError: d.lastError,
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      at: a.at.toISOString(),
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      error: a.error,
    })),
  };
}
