import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The result cache and submissions (one upload, several engines).
 *
 * jobs gains:
 * - input_mime: the type detected from the input's bytes;
 * - cache_key: the cache key of what the job runs (set at upload when the
 *   nodes' image digest is known, and by the worker from the digest it ran);
 * - cached_from: for a hit, the job whose result it serves; for a queued
 *   follower, the identical job it waits for;
 * - forced: uploaded with force=true (the cache was not asked);
 * - submission_id and input_from: the submission a job belongs to, and whose
 *   stored input it reads (the submission's: the file is stored once).
 *
 * jobs_cache_active_idx lets one identical job at a time run (or wait to):
 * a second identical upload that would be another becomes its follower.
 */
export class CacheAndSubmissions1764700000000 implements MigrationInterface {
  name = 'CacheAndSubmissions1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE submissions (
        id uuid PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        original_name text NOT NULL,
        size bigint NOT NULL,
        sha256 char(64) NOT NULL,
        input_mime text NOT NULL,
        requested text NOT NULL,
        forced boolean NOT NULL DEFAULT false,
        expired_at timestamptz
      )`);
    await q.query(`CREATE INDEX submissions_history_idx ON submissions (created_at, id)`);
    await q.query(`
      ALTER TABLE jobs
        ADD COLUMN input_mime text,
        ADD COLUMN cache_key char(64),
        ADD COLUMN cached_from uuid,
        ADD COLUMN forced boolean NOT NULL DEFAULT false,
        ADD COLUMN submission_id uuid REFERENCES submissions (id),
        ADD COLUMN input_from uuid`);
    await q.query(`
      CREATE UNIQUE INDEX jobs_cache_active_idx ON jobs (cache_key)
      WHERE cache_key IS NOT NULL AND cached_from IS NULL AND status IN ('queued', 'running')`);
    await q.query(`
      CREATE INDEX jobs_cache_lookup_idx ON jobs (cache_key, finished_at)
      WHERE cache_key IS NOT NULL AND cached_from IS NULL AND status = 'completed' AND expired_at IS NULL`);
    await q.query(`CREATE INDEX jobs_followers_idx ON jobs (cached_from) WHERE cached_from IS NOT NULL AND status = 'queued'`);
    await q.query(`CREATE INDEX jobs_submission_idx ON jobs (submission_id) WHERE submission_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX jobs_submission_idx`);
    await q.query(`DROP INDEX jobs_followers_idx`);
    await q.query(`DROP INDEX jobs_cache_lookup_idx`);
    await q.query(`DROP INDEX jobs_cache_active_idx`);
    await q.query(`
      ALTER TABLE jobs DROP COLUMN input_from, DROP COLUMN submission_id, DROP COLUMN forced,
        DROP COLUMN cached_from, DROP COLUMN cache_key, DROP COLUMN input_mime`);
    await q.query(`DROP TABLE submissions`);
  }
}
