import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, JobRepository, type DatabaseOptions } from '@menagerie/db';
import { workflowIdFor } from '@menagerie/core';
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

/** A describe block's own migrated database, with a DataSource and a JobRepository on it. */
export interface JobsDatabase {
  options: DatabaseOptions;
  ds: DataSource;
  jobs: JobRepository;
  /** Records a queued job (as an upload does) and gives its id. */
  queued(): Promise<string>;
}

/** Made in beforeAll, dropped in afterAll; read its fields inside tests and hooks. */
export function useJobsDatabase(poolSize = 2): JobsDatabase {
  let database: { name: string; drop(): Promise<void> } | undefined;
  const db = {
    async queued() {
      const id = randomUUID();
      await db.jobs.create({
        id,
        engine: 'filemeta',
        originalName: 'a.bin',
        size: 1,
        sha256: 'a'.repeat(64),
        image: 'menagerie/filemeta:stable',
        workflowId: workflowIdFor(id),
      });
      return id;
    },
  } as JobsDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    db.options = { ...DB, database: database.name };
    db.ds = createDataSource(db.options, poolSize);
    await db.ds.initialize();
    db.jobs = new JobRepository(db.ds);
  });
  afterAll(async () => {
    await db.ds?.destroy();
    await database?.drop();
  });
  return db;
}
