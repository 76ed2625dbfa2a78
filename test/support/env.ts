import { join } from 'node:path';

export const ROOT = join(__dirname, '../..');
export const TEMPORAL_BIN = process.env.TEMPORAL_BIN ?? join(ROOT, '.cache/bin/temporal');
export const FIXTURES = join(ROOT, '.cache/fixtures');
/** One template per test run, so runs side by side (a CI clone and a developer's) don't drop each other's. */
export function templateDb(): string {
  return (process.env.MENAGERIE_TEST_TEMPLATE ??= `menagerie_test_template_${process.pid}`);
}

export const DB = {
  host: process.env.MENAGERIE_DB_HOST ?? '127.0.0.1',
  port: Number(process.env.MENAGERIE_DB_PORT ?? process.env.MENAGERIE_PG_PORT ?? 5432),
  user: process.env.MENAGERIE_DB_USER ?? 'menagerie',
  password: process.env.MENAGERIE_DB_PASSWORD ?? 'menagerie',
};
