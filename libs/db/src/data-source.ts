import { DataSource } from 'typeorm';
import { JobEntity } from './job.entity';
import { CreateJobs1764200000000 } from './migrations/1764200000000-create-jobs';
import { JobExpiry1764300000000 } from './migrations/1764300000000-job-expiry';
import { Nodes1764400000000 } from './migrations/1764400000000-nodes';
import { HistoryIndexes1764500000000 } from './migrations/1764500000000-history-indexes';
import { JobEndedNotify1764600000000 } from './migrations/1764600000000-job-ended-notify';
import { CacheAndSubmissions1764700000000 } from './migrations/1764700000000-cache-and-submissions';
import { Webhooks1764800000000 } from './migrations/1764800000000-webhooks';
import { RetryAndRateLimits1764810000000 } from './migrations/1764810000000-retry-and-rate-limits';
import { QuieterJobEnds1764820000000 } from './migrations/1764820000000-quieter-job-ends';
import { MaintenanceCursors1764830000000 } from './migrations/1764830000000-maintenance-cursors';
import { Reports1764900000000 } from './migrations/1764900000000-reports';
import { DataBundles1765000000000 } from './migrations/1765000000000-data-bundles';
import { NodeEntity } from './node.entity';
import { SubmissionEntity } from './submission.entity';

export interface DatabaseOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export const MIGRATIONS = [
  CreateJobs1764200000000,
  JobExpiry1764300000000,
  Nodes1764400000000,
  HistoryIndexes1764500000000,
  JobEndedNotify1764600000000,
  CacheAndSubmissions1764700000000,
  Webhooks1764800000000,
  RetryAndRateLimits1764810000000,
  QuieterJobEnds1764820000000,
  MaintenanceCursors1764830000000,
  Reports1764900000000,
  DataBundles1765000000000,
];

export function createDataSource(options: DatabaseOptions, poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    host: options.host,
    port: options.port,
    username: options.user,
    password: options.password,
    database: options.database,
    entities: [JobEntity, NodeEntity, SubmissionEntity],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: ['error'],
    // At least two: runMigrations holds one connection for its lock while TypeORM migrates on another.
    extra: { max: Math.max(2, poolSize), connectionTimeoutMillis: 5000 },
  });
}

/** Arbitrary, fixed: the advisory lock that serialises migrations between the API and the workers. */
const MIGRATION_LOCK = 7_461_235;

/** Applies pending migrations; the API and the worker may both call it at boot. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
