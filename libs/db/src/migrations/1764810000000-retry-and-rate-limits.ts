import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retry (POST /jobs/<id>/retry): a new job links to the job it retries
 * (retry_of), and that job to its latest retry (retried_as).
 *
 * rate_limits: each key's current window (it starts at the key's first
 * request, and lasts a minute) and its count, shared by every API replica, so that a key's limit holds across them all (behind
 * HAProxy). Keyed by the key's sha256, never the key.
 */
export class RetryAndRateLimits1764810000000 implements MigrationInterface {
  name = 'RetryAndRateLimits1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN retry_of uuid, ADD COLUMN retried_as uuid`);
    await q.query(`
      CREATE TABLE rate_limits (
        client char(64) PRIMARY KEY,
        window_start timestamptz NOT NULL,
        count integer NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limits`);
    await q.query(`ALTER TABLE jobs DROP COLUMN retried_as, DROP COLUMN retry_of`);
  }
}
