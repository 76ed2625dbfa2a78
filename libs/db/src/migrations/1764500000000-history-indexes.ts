import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the history at millions of rows: each list shape (no filter,
 * engine, status, both, sha256) has a btree that ends in (created_at, id), so
 * a page is a short walk from a keyset cursor in the history's order, and a
 * capped count stays in the index. The sha256 one uses bpchar_pattern_ops so
 * that it also serves the console's prefix search (`LIKE 'ab12%'`) under any
 * collation; the name search (`ILIKE '%part%'`) goes through pg_trgm.
 *
 * pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may
 * create it without being a superuser.
 *
 * IF NOT EXISTS: on a large live table an operator can build these first
 * with CREATE INDEX CONCURRENTLY under the same names, and this migration
 * then only drops the indexes they replace.
 */
export class HistoryIndexes1764500000000 implements MigrationInterface {
  name = 'HistoryIndexes1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`CREATE INDEX IF NOT EXISTS jobs_history_idx ON jobs (created_at, id)`);
    await q.query(`CREATE INDEX IF NOT EXISTS jobs_engine_history_idx ON jobs (engine, created_at, id)`);
    await q.query(`CREATE INDEX IF NOT EXISTS jobs_status_history_idx ON jobs (status, created_at, id)`);
    // Also the queue counts of /engines: (engine, status) is its prefix.
    await q.query(`CREATE INDEX IF NOT EXISTS jobs_engine_status_history_idx ON jobs (engine, status, created_at, id)`);
    await q.query(`CREATE INDEX IF NOT EXISTS jobs_sha256_history_idx ON jobs (sha256 bpchar_pattern_ops, created_at, id)`);
    await q.query(`CREATE INDEX IF NOT EXISTS jobs_name_trgm_idx ON jobs USING gin (original_name gin_trgm_ops)`);
    // Each is a prefix of one above.
    await q.query(`DROP INDEX IF EXISTS jobs_created_at_idx, jobs_engine_status_idx, jobs_sha256_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX jobs_created_at_idx ON jobs (created_at)`);
    await q.query(`CREATE INDEX jobs_engine_status_idx ON jobs (engine, status)`);
    await q.query(`CREATE INDEX jobs_sha256_idx ON jobs (sha256)`);
    await q.query(
      `DROP INDEX jobs_history_idx, jobs_engine_history_idx, jobs_status_history_idx, jobs_engine_status_history_idx, jobs_sha256_history_idx, jobs_name_trgm_idx`,
    );
    // pg_trgm stays: other objects may have come to depend on it.
  }
}
