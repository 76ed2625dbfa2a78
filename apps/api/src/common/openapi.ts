import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Express } from 'express';
import type { ApiKeys } from './access';

/**
 * OpenAPI generated from the controllers' decorators: the document at
 * /docs-json, the UI at /docs (served locally), both behind the API keys.
 */
export function setupOpenApi(app: INestApplication, keys: ApiKeys): void {
  const config = new DocumentBuilder()
    .setTitle('Menagerie')
    .setDescription(
      'Runs file-analysis engines as contained Docker jobs. Upload a file to an engine, follow the job, download its result. ' +
        'Every error is JSON {error, message}.',
    )
    .setVersion('0.1.0')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // SwaggerModule serves on the Express router directly, where Nest's guard never runs:
  // the key is checked in front of the UI (a mount, for its assets) and the two documents.
  const check = keys.middleware();
  app.use('/docs', check);
  for (const path of ['/docs-json', '/docs-yaml']) (app.getHttpAdapter().getInstance() as Express).all(path, check);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
