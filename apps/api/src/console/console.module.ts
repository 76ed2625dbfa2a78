import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ConsoleApiController } from './console-api.controller';
import { ConsoleAssets } from './console-assets.service';
import { ConsoleJobsService } from './console-jobs.service';
import { ConsolePagesController } from './console-pages.controller';
import { consoleSecurityHeaders } from './security-headers';

/**
 * The admin console at /console: static pages and scripts from
 * apps/api/console, plus /console/api for what the public API lacks.
 * Uses CONFIG, JOB_REPOSITORY, JobHistoryRepository, BLOB_STORE and NodesService, which AppModule provides and exports.
 */
@Module({
  controllers: [ConsolePagesController, ConsoleApiController],
  providers: [{ provide: ConsoleAssets, useFactory: () => new ConsoleAssets() }, ConsoleJobsService],
})
export class ConsoleModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(consoleSecurityHeaders).forRoutes(ConsolePagesController, ConsoleApiController);
  }
}
