import type { NestExpressApplication } from '@nestjs/platform-express';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { loadConfig, readEnv, type MenagerieConfig } from '@menagerie/config';
import { createDataSource, runMigrations } from '@menagerie/db';
import { DEPLOYMENT_LABEL, deploymentLabel, JOB_LABEL } from '@menagerie/runtime';
import { createApp } from '../../apps/api/src/app';
import { startWorkers, type WorkerHandle } from '../../apps/worker/src/worker';
import { createTestDatabase } from './database';
import { DB, ROOT, TEMPORAL_BIN } from './env';
import { removeDir, tempDir } from './temp-dir';
import { quietTemporalLogs } from './temporal';
import { testBucket, testStorageKind } from './test-bucket';
import { SEARCH_ATTRIBUTE_KEYS } from '@menagerie/temporal';

export interface System {
  baseUrl: string;
  config: MenagerieConfig;
  env: TestWorkflowEnvironment;
  db: DataSource;
  docker: Docker;
  /** Null when the test runs the API as its own process. */
  api: NestExpressApplication | null;
  worker: WorkerHandle | null;
  uiUrl: string | null;
  /** The deployment label this system's containers carry (see DEPLOYMENT_LABEL). */
  deployment: string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Start the Temporal Web UI on this port. */
  uiPort?: number;
  /** Start the engine workers (default true). */
  worker?: boolean;
  /** Path of an engines.json to use instead of confs/engines.json. */
  enginesFile?: string;
  /** Overrides of default.json fields. */
  settings?: Record<string, unknown>;
  /** Use this Temporal server instead of starting one. */
  temporalAddress?: string;
  /** Use this (empty) PostgreSQL database, migrating it, instead of a clone of the template. */
  database?: { host: string; port: number; user: string; password: string; database: string };
  /** Serve the API in this process (default true); false leaves baseUrl empty. */
  api?: boolean;
}

/**
 * The whole system on real services: a Temporal dev server of its own, a
 * fresh PostgreSQL database, a temporary store, the API on a free port and
 * the engine workers, all in this process.
 */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  process.env.LOG_LEVEL ??= 'warn';
  quietTemporalLogs();
  const env = options.temporalAddress
    ? await TestWorkflowEnvironment.createFromExistingServer({ address: options.temporalAddress })
    : await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: TEMPORAL_BIN },
          ip: '127.0.0.1',
          ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
          log: { format: 'pretty', level: 'error' },
          searchAttributes: Object.values(SEARCH_ATTRIBUTE_KEYS),
        },
      });
  const address = options.temporalAddress ?? env.connection.options.address;
  const database = options.database ? await migrated(options.database) : await createTestDatabase();
  const dbSettings = options.database ?? { ...DB, database: database.name };
  const storage = tempDir('menagerie-e2e-', { until: 'file' });
  // On S3, each system has a bucket of its own; the directory still holds the node's scratch.
  const bucket = testStorageKind() === 's3' ? testBucket() : null;
  const base = readEnv({});
  const config = loadConfig({
    confDir: join(ROOT, 'confs'),
    enginesFile: options.enginesFile,
    patch: {
      api: { port: 0, host: '127.0.0.1' },
      temporal: { address, namespace: 'default', ...(options.uiPort ? { uiUrl: `http://127.0.0.1:${options.uiPort}` } : {}) },
      database: dbSettings,
      storage: { dir: storage, ...(bucket ? { kind: 's3', s3: bucket.settings } : {}) },
      // Each system is a deployment of its own: tests beside each other, or beside a
      // Menagerie already running on this host, never sweep each other's containers.
      // Random: test runs in containers of their own can share a pid and a Docker daemon.
      deployment: `test-${randomUUID().slice(0, 13)}`,
      logLevel: process.env.LOG_LEVEL,
      // Systems side by side (and the worker processes appEnv starts from this config) each get a free port.
      metrics: { workerPort: 0 },
      ...options.settings,
    },
    ...{ defaultsFile: base.defaultsFile },
  });

  let api: NestExpressApplication | null = null;
  let baseUrl = '';
  if (options.api !== false) {
    api = await createApp(config);
    await api.listen(0, '127.0.0.1');
    const port = (api.getHttpServer().address() as { port: number }).port;
    baseUrl = `http://127.0.0.1:${port}`;
    config.settings.api.publicUrl = baseUrl;
  }

  const logger = pino({ level: config.settings.logLevel });
  const worker = options.worker === false ? null : await startWorkers(config, logger);
  const db = createDataSource(config.settings.database, 2);
  await db.initialize();

  let stopped = false;
  return {
    baseUrl,
    config,
    env,
    db,
    docker: new Docker(),
    api,
    worker,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : null,
    deployment: deploymentLabel(config.settings.deployment, config.settings.temporal.namespace),
    async stop() {
      if (stopped) return;
      stopped = true;
      await worker?.stop();
      await api?.close();
      await db.destroy();
      await env.teardown().catch(() => undefined); // a test may have stopped Temporal on purpose
      await database.drop();
      await bucket?.drop();
      removeDir(storage); // with the job volumes a worker killed mid-job left mounted (a live worker unmounts its own)
    },
  };
}

/** Migrates a database the test brought itself; dropping it is the owner's business. */
async function migrated(connection: NonNullable<SystemOptions['database']>): Promise<{ name: string; drop(): Promise<void> }> {
  const ds = createDataSource(connection, 1);
  await ds.initialize();
  await runMigrations(ds);
  await ds.destroy();
  return { name: connection.database, drop: async () => undefined };
}

/** Job containers of these jobs, or all of one deployment's. */
export async function jobContainers(docker: Docker, scope: string[] | { deployment: string }): Promise<Docker.ContainerInfo[]> {
  const label = Array.isArray(scope) ? [JOB_LABEL] : [`${DEPLOYMENT_LABEL}=${scope.deployment}`];
  const all = await docker.listContainers({ all: true, filters: { label } });
  return Array.isArray(scope) ? all.filter((c) => scope.includes(c.Labels[JOB_LABEL])) : all;
}
