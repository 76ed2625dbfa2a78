import { readFileSync } from 'node:fs';
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

/** The S3 service ensure-services.sh starts (SeaweedFS), with the credentials it made. */
export function s3Service(): { endpoint: string; accessKeyId: string; secretAccessKey: string } {
  const file = join(process.env.MENAGERIE_RUN_DIR ?? join(ROOT, '.run'), 's3.env');
  const vars = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { endpoint: vars.MENAGERIE_S3_ENDPOINT, accessKeyId: vars.MENAGERIE_S3_ACCESS_KEY, secretAccessKey: vars.MENAGERIE_S3_SECRET_KEY };
}
