import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DB, templateDb } from './env';

export async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ ...DB, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database cloned from the template. */
export async function createTestDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `menagerie_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${templateDb()}`));
  return { name, drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}
