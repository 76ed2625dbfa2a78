import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Retention removes a job's files but keeps its row, marked with when that happened. */
export class JobExpiry1764300000000 implements MigrationInterface {
  name = 'JobExpiry1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN expired_at timestamptz`);
    await q.query(`CREATE INDEX jobs_finished_unexpired_idx ON jobs (finished_at) WHERE expired_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX jobs_finished_unexpired_idx`);
    await q.query(`ALTER TABLE jobs DROP COLUMN expired_at`);
  }
}
