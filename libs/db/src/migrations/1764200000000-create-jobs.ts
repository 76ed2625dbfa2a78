import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateJobs1764200000000 implements MigrationInterface {
  name = 'CreateJobs1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY,
        engine varchar(63) NOT NULL,
        status varchar(16) NOT NULL
          CHECK (status IN ('queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled')),
        original_name text NOT NULL,
        size bigint NOT NULL,
        sha256 char(64) NOT NULL,
        image text NOT NULL,
        image_digest text,
        workflow_id text NOT NULL UNIQUE,
        run_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        exit_code integer,
        error text,
        log_tail text,
        result_name text,
        result_size bigint,
        result_mime text
      )`);
    await q.query(`CREATE INDEX jobs_created_at_idx ON jobs (created_at)`);
    await q.query(`CREATE INDEX jobs_engine_status_idx ON jobs (engine, status)`);
    await q.query(`CREATE INDEX jobs_sha256_idx ON jobs (sha256)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE jobs`);
  }
}
