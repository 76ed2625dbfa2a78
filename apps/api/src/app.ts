import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { MenagerieConfig } from '@menagerie/config';
import { AppModule } from './app.module';
import { hardenHttp } from './common/http-hardening';
import { setupOpenApi } from './common/openapi';

/** Builds the API without listening, so tests can start it on a port of their own. */
export async function createApp(config: MenagerieConfig): Promise<NestExpressApplication> {
  // Body parsers are registered by hardenHttp, with limits.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  hardenHttp(app, config.settings);
  app.enableShutdownHooks();
  setupOpenApi(app);
  return app;
}
