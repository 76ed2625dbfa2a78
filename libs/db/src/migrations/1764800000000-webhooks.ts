import type { MigrationInterface, QueryRunner } from 'typeorm';

const FINAL = `('completed', 'failed', 'timed_out', 'cancelled')`;

/**
 * Webhooks, as an outbox kept by the database itself.
 *
 * - webhook_events: what happened. The trigger that announces a job's end
 *   (menagerie_job_ended, now also fired by a row inserted final: a cache
 *   hit) inserts the job's event in the same transaction as its final
 *   status, so no status is committed without its event, whoever wrote it
 *   and whatever crashes after. `submission.completed` is inserted by the
 *   API once every job of the submission is final (unique per submission).
 * - webhook_callbacks: the `callback=<url>` of an upload (keyed by the job's
 *   id) or a submission (its id), written before the job rows, so an event
 *   always finds its callback.
 * - webhook_deliveries: one per event and receiver (a configured target, or
 *   the callback), with the signed body as it was when the event was
 *   expanded; webhook_attempts: every attempt at one.
 */
export class Webhooks1764800000000 implements MigrationInterface {
  name = 'Webhooks1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_callbacks (
        owner_id uuid PRIMARY KEY,
        url text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE webhook_events (
        id bigserial PRIMARY KEY,
        event text NOT NULL,
        job_id uuid,
        submission_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        expanded_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX webhook_events_job_idx ON webhook_events (job_id) WHERE job_id IS NOT NULL`);
    await q.query(
      `CREATE UNIQUE INDEX webhook_events_submission_idx ON webhook_events (submission_id) WHERE event = 'submission.completed'`,
    );
    await q.query(`CREATE INDEX webhook_events_pending_idx ON webhook_events (id) WHERE expanded_at IS NULL`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        event_id bigint NOT NULL REFERENCES webhook_events (id),
        event text NOT NULL,
        job_id uuid,
        submission_id uuid,
        kind text NOT NULL,
        url text NOT NULL,
        body text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        UNIQUE (event_id, kind, url)
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (created_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id) WHERE job_id IS NOT NULL`);
    await q.query(`CREATE INDEX webhook_deliveries_submission_idx ON webhook_deliveries (submission_id) WHERE submission_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE webhook_attempts (
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
        attempt integer NOT NULL,
        at timestamptz NOT NULL,
        status_code integer,
        latency_ms integer NOT NULL,
        error text,
        PRIMARY KEY (delivery_id, attempt)
      )`);
    await q.query(`
      CREATE OR REPLACE FUNCTION menagerie_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO webhook_events (event, job_id, submission_id) VALUES ('job.' || NEW.status, NEW.id, NEW.submission_id) ON CONFLICT DO NOTHING;
        PERFORM pg_notify('menagerie_job_ended', NEW.id::text);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER jobs_ended_at_insert AFTER INSERT ON jobs FOR EACH ROW
      WHEN (NEW.status IN ${FINAL})
      EXECUTE FUNCTION menagerie_job_ended()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER jobs_ended_at_insert ON jobs`);
    await q.query(`
      CREATE OR REPLACE FUNCTION menagerie_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('menagerie_job_ended', NEW.id::text);
        RETURN NULL;
      END $$`);
    await q.query(`DROP TABLE webhook_attempts`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhook_events`);
    await q.query(`DROP TABLE webhook_callbacks`);
  }
}
