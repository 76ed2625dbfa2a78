import { join } from 'node:path';

export const ROOT = join(__dirname, '../..');
export const TEMPORAL_BIN = process.env.TEMPORAL_BIN ?? join(ROOT, '.cache/bin/temporal');
export const FIXTURES = join(ROOT, '.cache/fixtures');
export const TEMPLATE_DB = 'menagerie_test_template';

export const DB = {
  host: process.env.MENAGERIE_DB_HOST ?? '127.0.0.1',
  port: Number(process.env.MENAGERIE_DB_PORT ?? process.env.MENAGERIE_PG_PORT ?? 5432),
  user: process.env.MENAGERIE_DB_USER ?? 'menagerie',
  password: process.env.MENAGERIE_DB_PASSWORD ?? 'menagerie',
};
