import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a bounded maintenance pass stopped, by name, so the next run goes
 * on from there: retention's orphan sweep reads a page of the store's ids at
 * a time, a bounded number per run, however large the store.
 */
export class MaintenanceCursors1764830000000 implements MigrationInterface {
  name = 'MaintenanceCursors1764830000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE maintenance_cursors (name text PRIMARY KEY, position text, updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE maintenance_cursors`);
  }
}
