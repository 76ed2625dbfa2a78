import { In, type DataSource, type EntityManager } from 'typeorm';
import { FINAL_STATUSES, type WebhookEvent } from '@menagerie/core';
import { JobEntity } from './job.entity';
import { SubmissionEntity } from './submission.entity';

export type WebhookDeliveryStatus = 'pending' | 'delivering' | 'delivered' | 'failed';
/** A configured target (its secret in default.json, found by its URL), or the callback the upload or submission gave. */
export type WebhookReceiverKind = 'target' | 'callback';

/** An event being expanded into deliveries, with what its bodies are made of. */
export interface ExpandingEvent {
  event: WebhookEvent;
  /** A job event's job, final. */
  job: JobEntity | null;
  /** A submission.completed's submission, and every job of it (all final). */
  submission: SubmissionEntity | null;
  submissionJobs: JobEntity[];
  /** The callback of the job's upload, or of its submission (for a job of one and for submission.completed). */
  callbackUrl: string | null;
}

export interface NewWebhookDelivery {
  id: string;
  kind: WebhookReceiverKind;
  url: string;
  /** The JSON body, exactly as it is signed and sent at every attempt. */
  body: string;
}

/** What the activity needs of a delivery. */
export interface WebhookDeliveryRow {
  id: string;
  event: WebhookEvent;
  kind: WebhookReceiverKind;
  url: string;
  body: string;
  status: WebhookDeliveryStatus;
}

export interface WebhookAttemptRecord {
  deliveryId: string;
  /** Temporal's attempt number, from 1. */
  attempt: number;
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface WebhookDeliveryReport {
  id: string;
  event: WebhookEvent;
  jobId: string | null;
  submissionId: string | null;
  kind: WebhookReceiverKind;
  url: string;
  status: WebhookDeliveryStatus;
  createdAt: Date;
  finishedAt: Date | null;
  lastError: string | null;
  attempts: Array<Omit<WebhookAttemptRecord, 'deliveryId'>>;
}

const FINAL = FINAL_STATUSES.map((s) => `'${s}'`).join(', ');

/** PostgreSQL text can't hold NUL; a receiver's answer may contain anything. */
function text(value: string | null): string | null {
  return value === null ? null : value.replace(/\u0000/g, '\ufffd');
}

/** The only place that touches the webhook tables. */
export class WebhookRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Written before the job (or submission) rows: any event of theirs then finds it. */
  /**
   * Whether the deployment has webhook targets (default.json), which the job-ended trigger reads:
   * without them, only jobs with a callback write events. Every API replica sets it at boot.
   */
  async setTargetsPresent(present: boolean): Promise<void> {
    await this.dataSource.query(`UPDATE webhook_settings SET targets = $1 WHERE targets IS DISTINCT FROM $1`, [present]);
  }

  async addCallback(ownerId: string, url: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO webhook_callbacks (owner_id, url) VALUES ($1, $2) ON CONFLICT (owner_id) DO UPDATE SET url = EXCLUDED.url`,
      [ownerId, url],
    );
  }

  async removeCallback(ownerId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM webhook_callbacks WHERE owner_id = $1`, [ownerId]);
  }

  /**
   * Expands up to `limit` events not yet expanded into deliveries, in one
   * transaction: `plan` says which receivers get each (and their bodies);
   * a job event whose submission has now ended altogether adds that
   * submission's `submission.completed` (once: unique per submission). An
   * event that nobody is to hear is removed. Replicas share the work
   * (SKIP LOCKED); a crash before the commit leaves the events to expand
   * again. Answers how many events were taken and the new deliveries' ids.
   */
  async expandPending(
    limit: number,
    plan: (event: ExpandingEvent) => NewWebhookDelivery[],
  ): Promise<{ events: number; deliveries: string[] }> {
    return this.dataSource.transaction(async (tx) => {
      const events: Array<{ id: string; event: WebhookEvent; job_id: string | null; submission_id: string | null }> = await tx.query(
        `SELECT id, event, job_id, submission_id FROM webhook_events WHERE expanded_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (!events.length) return { events: 0, deliveries: [] };
      const jobIds = events.flatMap((e) => (e.job_id ? [e.job_id] : []));
      const endedSubmissions = events
        .filter((e) => e.event === 'submission.completed')
        .flatMap((e) => (e.submission_id ? [e.submission_id] : []));
      const jobs = new Map((jobIds.length ? await tx.getRepository(JobEntity).findBy({ id: In(jobIds) }) : []).map((j) => [j.id, j]));
      const submissions = new Map(
        (endedSubmissions.length ? await tx.getRepository(SubmissionEntity).findBy({ id: In(endedSubmissions) }) : []).map((s) => [
          s.id,
          s,
        ]),
      );
      const jobsOf = new Map<string, JobEntity[]>();
      for (const job of endedSubmissions.length
        ? await tx.getRepository(JobEntity).find({ where: { submissionId: In(endedSubmissions) }, order: { createdAt: 'ASC', id: 'ASC' } })
        : []) {
        jobsOf.set(job.submissionId!, [...(jobsOf.get(job.submissionId!) ?? []), job]);
      }
      const owners = [...jobIds, ...events.flatMap((e) => (e.submission_id ? [e.submission_id] : []))];
      const callbacks = new Map<string, string>(
        (
          (await tx.query(`SELECT owner_id, url FROM webhook_callbacks WHERE owner_id = ANY($1::uuid[])`, [owners])) as Array<{
            owner_id: string;
            url: string;
          }>
        ).map((r) => [r.owner_id, r.url]),
      );

      const created: string[] = [];
      const heard: string[] = [];
      const unheard: string[] = [];
      for (const e of events) {
        const job = e.job_id ? (jobs.get(e.job_id) ?? null) : null;
        if (job?.submissionId) await this.addSubmissionEndedIfLast(tx, job.submissionId);
        const deliveries = plan({
          event: e.event,
          job,
          submission: e.event === 'submission.completed' && e.submission_id ? (submissions.get(e.submission_id) ?? null) : null,
          submissionJobs: e.event === 'submission.completed' && e.submission_id ? (jobsOf.get(e.submission_id) ?? []) : [],
          callbackUrl:
            (e.job_id ? callbacks.get(e.job_id) : undefined) ?? (e.submission_id ? callbacks.get(e.submission_id) : undefined) ?? null,
        });
        for (const d of deliveries) {
          const rows: unknown[] = await tx.query(
            `INSERT INTO webhook_deliveries (id, event_id, event, job_id, submission_id, kind, url, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (event_id, kind, url) DO NOTHING RETURNING id`,
            [d.id, e.id, e.event, e.job_id, e.submission_id, d.kind, d.url, d.body],
          );
          if (rows.length) created.push(d.id);
        }
        // A submission's end is kept whether heard or not: it is what says the submission already had one.
        (deliveries.length || e.event === 'submission.completed' ? heard : unheard).push(e.id);
      }
      if (heard.length) await tx.query(`UPDATE webhook_events SET expanded_at = now() WHERE id = ANY($1::bigint[])`, [heard]);
      if (unheard.length) await tx.query(`DELETE FROM webhook_events WHERE id = ANY($1::bigint[])`, [unheard]);
      return { events: events.length, deliveries: created };
    });
  }

  /**
   * `submission.completed`, once every job of the submission is final. The
   * job being expanded is committed final (its event is), and so is any
   * other whose event exists: of two jobs that end at once, whichever event
   * is expanded last sees both final, so the submission's end is never
   * missed; the unique index makes it one.
   */
  private async addSubmissionEndedIfLast(tx: EntityManager, submissionId: string): Promise<void> {
    await tx.query(
      `INSERT INTO webhook_events (event, submission_id)
       SELECT 'submission.completed', $1::uuid WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE submission_id = $1 AND status NOT IN (${FINAL}))
       ON CONFLICT DO NOTHING`,
      [submissionId],
    );
  }

  /** Deliveries whose workflow was not started yet, oldest first. */
  async unstarted(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM webhook_deliveries WHERE status = 'pending' ORDER BY created_at, id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Their workflows are started (a delivery that already ended stays as it is). */
  async markStarted(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET status = 'delivering', started_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
      [ids],
    );
  }

  async delivery(id: string): Promise<WebhookDeliveryRow | null> {
    const [row]: WebhookDeliveryRow[] = await this.dataSource.query(
      `SELECT id, event, kind, url, body, status FROM webhook_deliveries WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  /**
   * One attempt, and with `delivered` its delivery's outcome, in one
   * transaction. An attempt recorded twice (its activity retried after the
   * record) counts once.
   */
  async recordAttempt(a: WebhookAttemptRecord, delivered: boolean): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [a.deliveryId, a.attempt, a.at, a.statusCode, Math.round(a.latencyMs), text(a.error)],
      );
      await tx.query(
        `UPDATE webhook_deliveries SET attempts = (SELECT count(*) FROM webhook_attempts WHERE delivery_id = $1), last_error = $2,
           status = CASE WHEN $3 AND status IN ('pending', 'delivering') THEN 'delivered' ELSE status END,
           finished_at = CASE WHEN $3 AND status IN ('pending', 'delivering') THEN now() ELSE finished_at END
         WHERE id = $1`,
        [a.deliveryId, text(a.error), delivered],
      );
    });
  }

  /** Given up: recorded failed, unless it was delivered. */
  async markFailed(id: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET status = 'failed', finished_at = now(), last_error = COALESCE(last_error, $2) WHERE id = $1 AND status IN ('pending', 'delivering')`,
      [id, text(reason)],
    );
  }

  /** A job's deliveries (its job.* events), oldest first, each with its attempts. */
  async ofJob(jobId: string): Promise<WebhookDeliveryReport[]> {
    return this.reports(`d.job_id = $1`, jobId);
  }

  /** A submission's deliveries: its submission.completed and those of its jobs. */
  async ofSubmission(submissionId: string): Promise<WebhookDeliveryReport[]> {
    return this.reports(`d.submission_id = $1`, submissionId);
  }

  private async reports(where: string, id: string): Promise<WebhookDeliveryReport[]> {
    const rows: Array<{
      id: string;
      event: WebhookEvent;
      job_id: string | null;
      submission_id: string | null;
      kind: WebhookReceiverKind;
      url: string;
      status: WebhookDeliveryStatus;
      created_at: Date;
      finished_at: Date | null;
      last_error: string | null;
      attempts: Array<{ attempt: number; at: string; status_code: number | null; latency_ms: number; error: string | null }> | null;
    }> = await this.dataSource.query(
      `SELECT d.id, d.event, d.job_id, d.submission_id, d.kind, d.url, d.status, d.created_at, d.finished_at, d.last_error,
         (SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'status_code', a.status_code, 'latency_ms', a.latency_ms, 'error', a.error) ORDER BY a.attempt)
            FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts
       FROM webhook_deliveries d WHERE ${where} ORDER BY d.created_at, d.event, d.url`,
      [id],
    );
    return rows.map((r) => ({
      id: r.id,
      event: r.event,
      jobId: r.job_id,
      submissionId: r.submission_id,
      kind: r.kind,
      url: r.url,
      status: r.status,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
      lastError: r.last_error,
      attempts: (r.attempts ?? []).map((a) => ({
        attempt: a.attempt,
        at: new Date(a.at),
        statusCode: a.status_code,
        latencyMs: a.latency_ms,
        error: a.error,
      })),
    }));
  }
}
