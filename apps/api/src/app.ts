import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { Logger } from 'nestjs-pino';
import type { MenagerieConfig } from '@menagerie/config';
import { AppModule } from './app.module';
import { ApiKeys } from './common/access';
import { hardenHttp } from './common/http-hardening';
import { setupOpenApi } from './common/openapi';
import { httpMetrics } from './metrics/http-metrics';
import { ApiMetrics } from '@menagerie/metrics';

/**
 * An Express app whose routes match only as written: `/Jobs` and `/jobs/` are
 * not `/jobs`. Set before anything is registered: Express builds its router
 * with these settings the first time it is used and ignores later changes,
 * and ExpressAdapter uses it in its constructor.
 */
function canonicalExpress(): express.Express {
  const instance = express();
  instance.set('case sensitive routing', true);
  instance.set('strict routing', true);
  return instance;
}

/** Builds the API without listening, so tests can start it on a port of their own. */
export async function createApp(config: MenagerieConfig): Promise<NestExpressApplication> {
  // Body parsers are registered by hardenHttp, with limits.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), new ExpressAdapter(canonicalExpress()), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // req.ip: the peer, or behind a trusted proxy the client it forwards for; never a client's own X-Forwarded-For.
  const proxies = config.settings.api.trustedProxies;
  app.set('trust proxy', proxies.length ? proxies : false);
  // First, so that every request is counted and timed, whatever answers it.
  app.use(httpMetrics(app.get(ApiMetrics)));
  hardenHttp(app);
  app.enableShutdownHooks();
  setupOpenApi(app, app.get(ApiKeys));
  return app;
}
