import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Relay } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import {
  WEBHOOK_EVENT_CHANNEL,
  type ExpandingEvent,
  type JobEndings,
  type NewWebhookDelivery,
  type WebhookReceiverKind,
  type WebhookRepository,
} from '@menagerie/db';
import { CONFIG, JOB_ENDINGS, WEBHOOK_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';
import { toJobView } from '../jobs/job.view';
import { toSubmissionView } from '../submissions/submission.view';

/** Events expanded per transaction, and deliveries started per round. */
const BATCH = 100;
const PARALLEL_STARTS = 8;
/** How often events and deliveries no replica took are looked for (a replica down when the job ended, a broken LISTEN, Temporal away). */
const SCAN_MS = 5000;
/** How long announced ends are gathered into one round. */
const GATHER_MS = 20;

/**
 * Turns the database's webhook events into deliveries, and starts one
 * Temporal workflow per delivery. An event is written by the jobs table's
 * trigger in the job's own final transaction (migration 1764800000000), so
 * it is as durable as the status; this expands it, in one transaction,
 * into one delivery per receiver that wants it (the configured targets
 * listing the event, and the upload's or submission's callback), each with
 * the body it will be sent with: the job as /result shows it (or the
 * submission as /submission does) plus `event` and `deliveryId`. A delivery
 * is marked started after its workflow is; the start repeated after a crash
 * is refused by the workflow id (webhook-<id>). Woken by the jobs' ends;
 * a scan every 5 s catches what no replica heard. Every replica runs one:
 * they share events with SKIP LOCKED and race harmlessly on starts.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private unsubscribe: (() => void) | null = null;
  private readonly relay = new Relay({
    idleMs: SCAN_MS,
    round: () => this.round(),
    failing: (rounds, err) => this.logger.warn(`could not dispatch webhooks (${rounds} rounds): ${err.message}; they wait in the database`),
    recovered: (rounds) => this.logger.log(`delivering webhooks again after ${rounds} failed rounds`),
  });

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(WEBHOOK_REPOSITORY) private readonly webhooks: WebhookRepository,
    @Inject(JOB_ENDINGS) private readonly endings: JobEndings,
    private readonly temporal: TemporalService,
  ) {}

  onApplicationBootstrap(): void {
    // Written (and announced) only when a target or a callback listens: not every end wakes it.
    this.unsubscribe = this.endings.subscribe(() => this.relay.wake(GATHER_MS), WEBHOOK_EVENT_CHANNEL);
    void this.webhooks
      .setTargetsPresent(this.config.settings.webhooks.targets.length > 0)
      .catch((err: unknown) =>
        this.logger.warn(
          `could not record whether this deployment has webhook targets: ${String(err)}; events are written as the database last said`,
        ),
      );
    this.relay.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.relay.stop();
  }

  private async round(): Promise<void> {
    for (;;) {
      const { events } = await this.webhooks.expandPending(BATCH, (e) => this.plan(e));
      if (events < BATCH) break;
    }
    for (;;) {
      const ids = await this.webhooks.unstarted(BATCH);
      await this.startAll(ids);
      if (ids.length < BATCH) break;
    }
  }

  /** Who hears `e`, and the body each is sent: the same view, under a delivery id of its own. */
  private plan(e: ExpandingEvent): NewWebhookDelivery[] {
    const { settings } = this.config;
    let view: object;
    if (e.event === 'submission.completed') {
      if (!e.submission) return [];
      view = toSubmissionView(
        e.submission,
        e.submissionJobs,
        settings,
        this.config.engines.map((engine) => engine.config.name),
      );
    } else {
      if (!e.job) return [];
      view = toJobView(e.job, settings);
    }
    const receivers: Array<{ kind: WebhookReceiverKind; url: string }> = settings.webhooks.targets
      .filter((t) => t.events.includes(e.event))
      .map((t) => ({ kind: 'target', url: t.url }));
    if (e.callbackUrl) receivers.push({ kind: 'callback', url: e.callbackUrl });
    return receivers.map(({ kind, url }) => {
      const id = randomUUID();
      return { id, kind, url, body: JSON.stringify({ event: e.event, deliveryId: id, ...view }) };
    });
  }

  private async startAll(ids: string[]): Promise<void> {
    const { retry } = this.config.settings.webhooks;
    const started: string[] = [];
    let failure: unknown;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_STARTS, ids.length) }, async () => {
        while (next < ids.length && failure === undefined) {
          const deliveryId = ids[next++];
          try {
            await this.temporal.startWebhook({ deliveryId, retry });
            started.push(deliveryId);
          } catch (err) {
            failure ??= err;
          }
        }
      }),
    );
    // Recorded even when a later start failed: those stay pending for the next round.
    await this.webhooks.markStarted(started);
    if (failure !== undefined) throw failure;
  }
}
