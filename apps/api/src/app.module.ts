import { Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { loggedRequestUrl, MenagerieError } from '@menagerie/core';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import type { MenagerieConfig } from '@menagerie/config';
import {
  createDataSource,
  DataBundleRepository,
  JobEndings,
  JobFollowerRepository,
  JobHistoryRepository,
  JobOutboxRepository,
  JobRepository,
  NodeRepository,
  RateLimitRepository,
  runMigrations,
  SubmissionRepository,
  WebhookRepository,
} from '@menagerie/db';
import { createBlobStore, type BlobStore } from '@menagerie/storage';
import { AccessGuard, ApiKeys } from './common/access';
import { RateLimitPruner } from './common/rate-limit-pruner';
import { ApiExceptionFilter } from './common/exception.filter';
import { JobIdPipe } from './common/job-id.pipe';
import { ConsoleModule } from './console/console.module';
import { BLOB_STORE, CONFIG, DATA_SOURCE, JOB_ENDINGS, JOB_REPOSITORY, NODE_REPOSITORY, WEBHOOK_REPOSITORY } from './common/tokens';
import { BundlePushService } from './bundles/bundle-push.service';
import { BundlesController } from './bundles/bundles.controller';
import { BundleVersions } from './bundles/bundle-versions.service';
import { EnginesController } from './engines/engines.controller';
import { EnginesReloadService } from './engines/engines-reload.service';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { ApiMetrics } from '@menagerie/metrics';
import { TemporalService } from './infra/temporal.service';
import { FollowersService } from './jobs/followers.service';
import { JobAdmission } from './jobs/job-admission.service';
import { JobDispatcher } from './jobs/job-dispatcher.service';
import { JobReconciler } from './jobs/job-reconciler.service';
import { JobService } from './jobs/job.service';
import { JobsController } from './jobs/jobs.controller';
import { UploadService } from './jobs/upload.service';
import { NodesController } from './nodes/nodes.controller';
import { NodesService } from './nodes/nodes.service';
import { SubmissionService } from './submissions/submission.service';
import { SubmissionsController } from './submissions/submissions.controller';
import { CallbackPolicy } from './webhooks/callback-policy';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.service';
import { WebhooksController } from './webhooks/webhooks.controller';

/**
 * Readies the store; one that doesn't answer yet (an S3 outage) is not a
 * reason to stay down: /health names it and uploads answer 503 until it is
 * back. Anything else (a refused bucket, a bad directory) stops the boot.
 */
export async function readyOrUnavailable(blobs: BlobStore, logger: { warn(message: string): void }): Promise<void> {
  try {
    await blobs.init();
  } catch (err) {
    if (!(err instanceof MenagerieError && err.code === 'STORAGE_UNAVAILABLE')) throw err;
    logger.warn(`${err.message}; starting anyway, uploads are refused until it answers`);
  }
}

class Closer implements OnApplicationShutdown {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(JOB_ENDINGS) private readonly endings: JobEndings,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.endings.stop();
    await this.blobs.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Module({})
export class AppModule {
  static forRoot(config: MenagerieConfig): DynamicModule {
    return {
      module: AppModule,
      // The console module uses the shared config, the repositories, the nodes and the store (never the DataSource).
      global: true,
      exports: [CONFIG, JOB_REPOSITORY, JobHistoryRepository, BLOB_STORE, NodesService],
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            name: 'menagerie-api',
            level: config.settings.logLevel,
            // Only what an operator needs; headers (and so any credentials) are never logged.
            serializers: {
              // A callback's query string (often the receiver's token) is not kept.
              req: (req: { id: unknown; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: loggedRequestUrl(req.url),
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
          },
        }),
        ConsoleModule,
      ],
      controllers: [
        JobsController,
        SubmissionsController,
        EnginesController,
        BundlesController,
        NodesController,
        HealthController,
        MetricsController,
        WebhooksController,
      ],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: DATA_SOURCE,
          useFactory: async () => {
            const dataSource = createDataSource(config.settings.database, 20);
            await dataSource.initialize();
            await runMigrations(dataSource);
            return dataSource;
          },
        },
        { provide: JOB_REPOSITORY, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new JobRepository(ds) },
        { provide: JobOutboxRepository, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new JobOutboxRepository(ds) },
        { provide: JobFollowerRepository, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new JobFollowerRepository(ds) },
        { provide: JobHistoryRepository, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new JobHistoryRepository(ds) },
        { provide: NODE_REPOSITORY, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new NodeRepository(ds) },
        { provide: SubmissionRepository, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new SubmissionRepository(ds) },
        { provide: WEBHOOK_REPOSITORY, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new WebhookRepository(ds) },
        { provide: DataBundleRepository, inject: [DATA_SOURCE], useFactory: (ds: DataSource) => new DataBundleRepository(ds) },
        {
          provide: JOB_ENDINGS,
          // After the migrations (the trigger that announces ends is one of them).
          inject: [DATA_SOURCE],
          useFactory: async () => {
            const logger = new Logger('JobEndings');
            const endings = new JobEndings(config.settings.database, (message) => logger.warn(message));
            await endings.start();
            return endings;
          },
        },
        {
          provide: BLOB_STORE,
          useFactory: async () => {
            const blobs = createBlobStore({ ...config.settings.storage, dir: config.storageDir });
            await readyOrUnavailable(blobs, new Logger('BlobStore'));
            return blobs;
          },
        },
        {
          provide: ApiMetrics,
          inject: [JobHistoryRepository],
          // config.engines is replaced on each engines.json reload: read when scraped.
          useFactory: (jobs: JobHistoryRepository) =>
            new ApiMetrics({ engines: () => config.engines.map((e) => e.config.name), activeJobs: () => jobs.countActive() }),
        },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        {
          provide: ApiKeys,
          inject: [DATA_SOURCE],
          useFactory: (ds: DataSource) => new ApiKeys(config.settings, new RateLimitRepository(ds)),
        },
        RateLimitPruner,
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_PIPE, useClass: JobIdPipe },
        Closer,
        NodesService,
        EnginesReloadService,
        TemporalService,
        UploadService,
        BundleVersions,
        BundlePushService,
        JobAdmission,
        JobDispatcher,
        JobReconciler,
        FollowersService,
        JobService,
        SubmissionService,
        CallbackPolicy,
        WebhookDispatcher,
      ],
    };
  }
}
