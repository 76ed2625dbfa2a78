import { Client } from 'pg';
import { DB, templateDb } from './env';
import { sweepLeftovers } from './fault-services';

export default async function globalTeardown(): Promise<void> {
  sweepLeftovers();
  const admin = new Client({ ...DB, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb()} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
