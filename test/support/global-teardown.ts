import { Client } from 'pg';
import { DB, templateDb } from './env';

export default async function globalTeardown(): Promise<void> {
  const admin = new Client({ ...DB, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb()} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
