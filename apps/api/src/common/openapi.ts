import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** OpenAPI generated from the controllers' decorators: the document at /docs-json, the UI at /docs (served locally). */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Menagerie')
    .setDescription(
      'Runs file-analysis engines as contained Docker jobs. Upload a file to an engine, follow the job, download its result. ' +
        'Every error is JSON {error, message}.',
    )
    .setVersion('0.1.0')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
