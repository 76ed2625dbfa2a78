import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job's end costs only what someone listens for. Before this, every end
 * wrote a webhook event (expanded, then deleted, when nobody listened) and
 * woke every replica's webhook dispatcher and followers' check.
 *
 * - A webhook event is written only when the deployment has webhook targets
 *   (`webhook_settings.targets`, which each API replica sets from its
 *   default.json at boot) or the job (or its submission) has a callback; it
 *   is announced on `menagerie_webhook_event`.
 * - `menagerie_leader_ended` announces the end of a job that identical
 *   uploads wait for (followers), for the API's FollowersService. A follower
 *   inserted while its leader's end commits is not announced: the periodic
 *   check settles it.
 * - `menagerie_job_ended` is unchanged (every end), for `?wait`.
 */
export class QuieterJobEnds1764820000000 implements MigrationInterface {
  name = 'QuieterJobEnds1764820000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE webhook_settings (id boolean PRIMARY KEY DEFAULT true CHECK (id), targets boolean NOT NULL)`);
    // Until an API replica says otherwise, events are written as before.
    await q.query(`INSERT INTO webhook_settings (targets) VALUES (true)`);
    await q.query(`
      CREATE OR REPLACE FUNCTION menagerie_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT targets FROM webhook_settings) OR EXISTS (SELECT 1 FROM webhook_callbacks WHERE owner_id = NEW.id OR owner_id = NEW.submission_id) THEN
          INSERT INTO webhook_events (event, job_id, submission_id) VALUES ('job.' || NEW.status, NEW.id, NEW.submission_id) ON CONFLICT DO NOTHING;
          PERFORM pg_notify('menagerie_webhook_event', NEW.id::text);
        END IF;
        IF EXISTS (SELECT 1 FROM jobs WHERE cached_from = NEW.id AND status = 'queued') THEN
          PERFORM pg_notify('menagerie_leader_ended', NEW.id::text);
        END IF;
        PERFORM pg_notify('menagerie_job_ended', NEW.id::text);
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION menagerie_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO webhook_events (event, job_id, submission_id) VALUES ('job.' || NEW.status, NEW.id, NEW.submission_id) ON CONFLICT DO NOTHING;
        PERFORM pg_notify('menagerie_job_ended', NEW.id::text);
        RETURN NULL;
      END $$`);
    await q.query(`DROP TABLE webhook_settings`);
  }
}
