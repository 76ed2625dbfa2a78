import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Data bundles (an engine's rules or signatures, engines.json `data`): every
 * version of each engine's bundle that passed its check, with the output of
 * that check; one current version per engine and bundle (a unique partial
 * index), the earlier ones kept as its history. Each job records the
 * versions it was given (jobs.data: bundle -> digest).
 */
export class DataBundles1765000000000 implements MigrationInterface {
  name = 'DataBundles1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE data_bundles (
      id bigserial PRIMARY KEY,
      engine varchar(63) NOT NULL,
      bundle varchar(32) NOT NULL,
      digest char(71) NOT NULL,
      size bigint NOT NULL,
      files int NOT NULL,
      pushed_at timestamptz NOT NULL DEFAULT now(),
      check_log text,
      current boolean NOT NULL DEFAULT false
    )`);
    await q.query(`CREATE UNIQUE INDEX data_bundles_current_idx ON data_bundles (engine, bundle) WHERE current`);
    await q.query(`CREATE INDEX data_bundles_history_idx ON data_bundles (engine, bundle, pushed_at DESC, id DESC)`);
    await q.query(`CREATE INDEX data_bundles_digest_idx ON data_bundles (digest)`);
    await q.query(`ALTER TABLE jobs ADD COLUMN data jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs DROP COLUMN data`);
    await q.query(`DROP TABLE data_bundles`);
  }
}
