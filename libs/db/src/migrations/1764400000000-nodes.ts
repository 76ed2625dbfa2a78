import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scale-out: each job records the node that ran it, and each worker node
 * reports itself (its engines, their image digests, its running jobs) to
 * `nodes`, which the API reads instead of asking a Docker daemon.
 */
export class Nodes1764400000000 implements MigrationInterface {
  name = 'Nodes1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN node varchar(63)`);
    await q.query(`
      CREATE TABLE nodes (
        name varchar(63) PRIMARY KEY,
        engines jsonb NOT NULL,
        running jsonb NOT NULL,
        scratch_dir text NOT NULL,
        started_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE nodes`);
    await q.query(`ALTER TABLE jobs DROP COLUMN node`);
  }
}
