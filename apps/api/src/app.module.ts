import { Module, type DynamicModule, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import type { MenagerieConfig } from '@menagerie/config';
import { createDataSource, JobRepository, runMigrations } from '@menagerie/db';
import { deploymentLabel, DockerRuntime } from '@menagerie/runtime';
import { JobStore } from '@menagerie/storage';
import { AccessGuard, ApiKeys } from './common/access';
import { ApiExceptionFilter } from './common/exception.filter';
import { JobIdPipe } from './common/job-id.pipe';
import { ConsoleModule } from './console/console.module';
import { CONFIG, CONTAINER_RUNTIME, DATA_SOURCE, JOB_REPOSITORY, JOB_STORE } from './common/tokens';
import { EnginesController } from './engines/engines.controller';
import { EnginesReloadService } from './engines/engines-reload.service';
import { HealthController } from './health/health.controller';
import { TemporalService } from './infra/temporal.service';
import { JobService } from './jobs/job.service';
import { JobsController } from './jobs/jobs.controller';
import { UploadService } from './jobs/upload.service';

class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Module({})
export class AppModule {
  static forRoot(config: MenagerieConfig): DynamicModule {
    return {
      module: AppModule,
      // The console module uses the shared config, the job repository and the store (never the DataSource).
      global: true,
      exports: [CONFIG, JOB_REPOSITORY, JOB_STORE],
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            name: 'menagerie-api',
            level: config.settings.logLevel,
            // Only what an operator needs; headers (and so any credentials) are never logged.
            serializers: {
              req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            autoLogging: { ignore: (req) => req.url === '/health' },
          },
        }),
        ConsoleModule,
      ],
      controllers: [JobsController, EnginesController, HealthController],
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
        {
          provide: JOB_STORE,
          useFactory: async () => {
            const store = new JobStore(config.storageDir);
            await store.init();
            return store;
          },
        },
        { provide: CONTAINER_RUNTIME, useValue: new DockerRuntime({ docker: config.settings.docker, deployment: deploymentLabel(config.settings.deployment, config.settings.temporal.namespace) }) },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: ApiKeys, useValue: new ApiKeys(config.settings) },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_PIPE, useClass: JobIdPipe },
        DataSourceCloser,
        EnginesReloadService,
        TemporalService,
        UploadService,
        JobService,
      ],
    };
  }
}
