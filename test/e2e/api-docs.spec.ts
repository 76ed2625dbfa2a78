import { body } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(120_000);

/** The OpenAPI document is generated from the code and covers every route with its errors. */
describe('API docs', () => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem({ worker: false });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('documents every route, including upload, result and link with their error answers', async () => {
    const doc = await body(await fetch(`${sys.baseUrl}/docs-json`));
    const paths = doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    expect(Object.keys(paths).sort()).toEqual([
      '/engines',
      '/engines/{engine}/data',
      '/engines/{engine}/data/{bundle}',
      '/health',
      '/jobs',
      '/jobs/{id}',
      '/jobs/{id}/retry',
      '/jobs/{id}/webhooks',
      '/link/{id}',
      '/nodes',
      '/report/{id}',
      '/result/{id}',
      '/submission/{id}',
      '/submission/{id}/webhooks',
      '/submit',
      '/{engine}/upload',
    ]);
    expect(Object.keys(paths['/{engine}/upload'].post.responses).sort()).toEqual([
      '201',
      '400',
      '404',
      '408',
      '413',
      '415',
      '422',
      '503',
      '507',
    ]);
    const upload = paths['/{engine}/upload'].post as unknown as { parameters: Array<{ name: string }> };
    expect(upload.parameters.map((p) => p.name).sort()).toEqual(['callback', 'engine', 'force']);
    expect(Object.keys(doc.components.schemas.UploadDto.properties).sort()).toEqual(['callback', 'force', 'upload']);
    expect(doc.components.schemas.EngineDto.properties).toEqual(
      expect.objectContaining({ cacheTtl: expect.anything(), accepts: expect.anything(), rejects: expect.anything() }),
    );
    expect(Object.keys(paths['/result/{id}'].get.responses).sort()).toEqual(['200', '400', '404']);
    expect(Object.keys(paths['/engines/{engine}/data/{bundle}'].post.responses).sort()).toEqual([
      '200',
      '201',
      '400',
      '404',
      '413',
      '415',
      '422',
      '503',
    ]);
    expect(Object.keys(paths['/engines/{engine}/data'].get.responses).sort()).toEqual(['200', '404']);
    expect(Object.keys(doc.components.schemas.PushDto.properties).sort()).toEqual([
      'bundle',
      'changed',
      'checkLog',
      'current',
      'digest',
      'engine',
      'files',
      'pushedAt',
      'size',
    ]);
    expect(doc.components.schemas.EngineDto.properties).toEqual(
      expect.objectContaining({ data: expect.anything(), datacheck: expect.anything() }),
    );
    expect(doc.components.schemas.JobDto.properties).toEqual(expect.objectContaining({ data: expect.anything() }));
    expect(Object.keys(paths['/link/{id}'].get.responses).sort()).toEqual(['200', '400', '404', '410']);
    expect(Object.keys(paths['/jobs/{id}'].delete.responses).sort()).toEqual(['200', '202', '400', '404', '409']);
    const listing = (paths['/jobs'] as unknown as { get: { parameters: Array<{ name: string }> } }).get;
    expect(listing.parameters.map((p) => p.name).sort()).toEqual(['cursor', 'engine', 'limit', 'page', 'sha256', 'status', 'tag']);
    expect(Object.keys(doc.components.schemas.JobPageDto.properties).sort()).toEqual([
      'items',
      'limit',
      'next',
      'nextUrl',
      'page',
      'pages',
      'prev',
      'prevUrl',
      'total',
      'totalExact',
    ]);
    expect(doc.components.schemas.JobDto.properties.status.enum).toEqual([
      'queued',
      'running',
      'completed',
      'failed',
      'timed_out',
      'cancelled',
    ]);
  });

  it('documents submissions: POST /submit and GET and DELETE /submission/{id}, with their errors and shapes', async () => {
    const doc = await body(await fetch(`${sys.baseUrl}/docs-json`));
    const paths = doc.paths;
    const submit = paths['/submit'].post;
    expect(Object.keys(submit.responses).sort()).toEqual(['201', '400', '404', '408', '413', '415', '422', '503', '507']);
    expect(submit.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['callback', 'engines', 'force']);
    expect(Object.keys(submit.requestBody.content)).toEqual(['multipart/form-data']);
    expect(Object.keys(paths['/submission/{id}'].get.responses).sort()).toEqual(['200', '400', '404']);
    expect(paths['/submission/{id}'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['id', 'wait']);
    expect(Object.keys(paths['/submission/{id}'].delete.responses).sort()).toEqual(['200', '202', '400', '404', '409']);
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.SubmissionDto.properties).sort()).toEqual(
      ['createdAt', 'expiredAt', 'forced', 'input', 'jobs', 'requested', 'statusUrl', 'status', 'submissionId', 'summary'].sort(),
    );
    expect(schemas.SubmissionDto.properties.status.enum).toEqual(['running', 'completed', 'completed_with_failures', 'failed']);
    expect(Object.keys(schemas.SubmitDto.properties).sort()).toEqual(['callback', 'engines', 'force', 'upload']);
    expect(schemas.JobDto.properties).toEqual(
      expect.objectContaining({
        cached: expect.anything(),
        cachedFrom: expect.anything(),
        waitingFor: expect.anything(),
        forced: expect.anything(),
        submission: expect.anything(),
      }),
    );
    expect(Object.keys(schemas.JobInputDto.properties).sort()).toEqual(['mime', 'name', 'sha256', 'size']);
  });

  it('documents the webhook deliveries of a job and of a submission, with their errors and shape', async () => {
    const doc = await body(await fetch(`${sys.baseUrl}/docs-json`));
    expect(Object.keys(doc.paths['/jobs/{id}/webhooks'].get.responses).sort()).toEqual(['200', '400', '404']);
    expect(Object.keys(doc.paths['/submission/{id}/webhooks'].get.responses).sort()).toEqual(['200', '400', '404']);
    expect(Object.keys(doc.components.schemas.WebhookDeliveryDto.properties).sort()).toEqual([
      'attempts',
      'createdAt',
      'deliveryId',
      'event',
      'finishedAt',
      'jobId',
      'lastError',
      'receiver',
      'status',
      'submissionId',
      'url',
    ]);
    expect(doc.components.schemas.ErrorDto.properties.error.enum).toContain('CALLBACK_NOT_ALLOWED');
  });

  it('serves the docs UI from the API itself, with no outside assets', async () => {
    const res = await fetch(`${sys.baseUrl}/docs`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/swagger-ui/i);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      const url = new URL(asset, res.url); // relative to the page, as a browser resolves it
      expect((await fetch(url)).status).toBe(200);
    }
  });

  it('sets security headers on every answer, and a JSON CSP that renders nothing', async () => {
    for (const path of ['/health', '/engines', '/jobs', '/result/not-a-uuid', '/no/such/route']) {
      const res = await fetch(`${sys.baseUrl}${path}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('limits request bodies on routes other than upload, answering in JSON', async () => {
    const id = '3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90';
    const big = await fetch(`${sys.baseUrl}/jobs/${id}`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(200_000) }),
    });
    expect(big.status).toBe(413);
    expect(await body(big)).toMatchObject({ error: 'BODY_TOO_LARGE' });
    const bad = await fetch(`${sys.baseUrl}/jobs/${id}`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(bad.status).toBe(400);
    expect(await body(bad)).toMatchObject({ error: 'MALFORMED_BODY' });
  });
});
