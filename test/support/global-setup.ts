import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../../libs/db/src';
import { DB, ROOT, templateDb } from './env';

/**
 * Brings up the real services (idempotently) and migrates a template
 * database once; each test file clones it.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.MENAGERIE_SERVICES_READY) {
    execFileSync('bash', [join(ROOT, 'scripts/ensure-services.sh')], { stdio: 'inherit' });
  }
  const TEMPLATE_DB = templateDb();
  const admin = new Client({ ...DB, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const ds = createDataSource({ ...DB, database: TEMPLATE_DB }, 1);
  await ds.initialize();
  await runMigrations(ds);
  await ds.destroy();
}
