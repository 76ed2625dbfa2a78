import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job reaching a final status is announced on the channel
 * `menagerie_job_ended` (payload: its id), whoever wrote it: an API replica
 * blocked on `?wait` hears it at once, without a long poll to Temporal.
 * The statuses are those final when this was written.
 */
export class JobEndedNotify1764600000000 implements MigrationInterface {
  name = 'JobEndedNotify1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION menagerie_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('menagerie_job_ended', NEW.id::text);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER jobs_ended AFTER UPDATE OF status ON jobs FOR EACH ROW
      WHEN (NEW.status IN ('completed', 'failed', 'timed_out', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
      EXECUTE FUNCTION menagerie_job_ended()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER jobs_ended ON jobs`);
    await q.query(`DROP FUNCTION menagerie_job_ended()`);
  }
}
