import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reports (menagerie.report/1): what a job keeps of its engine's report
 * (jobs.report: summary, verdict, reason and tag counts; the report itself is
 * in the store), and every distinct tag of the jobs that ran, indexed for
 * GET /jobs?tag=<type>:<value>. A value may be up to 1024 characters: the
 * index holds its md5, and the query compares the value too.
 */
export class Reports1764900000000 implements MigrationInterface {
  name = 'Reports1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN report jsonb`);
    await q.query(`CREATE TABLE job_tags (
      job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      type varchar(64) NOT NULL,
      value text NOT NULL,
      value_md5 uuid GENERATED ALWAYS AS (md5(value)::uuid) STORED,
      PRIMARY KEY (job_id, type, value_md5)
    )`);
    await q.query(`CREATE INDEX job_tags_type_value_idx ON job_tags (type, value_md5)`);
    // A served job's tags are its source's (GET /jobs?tag= follows cached_from).
    await q.query(`CREATE INDEX jobs_cached_from_idx ON jobs (cached_from) WHERE cached_from IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX jobs_cached_from_idx`);
    await q.query(`DROP TABLE job_tags`);
    await q.query(`ALTER TABLE jobs DROP COLUMN report`);
  }
}
