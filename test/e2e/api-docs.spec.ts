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
    expect(Object.keys(paths).sort()).toEqual(['/engines', '/health', '/jobs', '/jobs/{id}', '/link/{id}', '/result/{id}', '/{engine}/upload']);
    expect(Object.keys(paths['/{engine}/upload'].post.responses).sort()).toEqual(['201', '400', '404', '413', '415', '503', '507']);
    expect(Object.keys(paths['/result/{id}'].get.responses).sort()).toEqual(['200', '400', '404']);
    expect(Object.keys(paths['/link/{id}'].get.responses).sort()).toEqual(['200', '400', '404', '410']);
    expect(Object.keys(paths['/jobs/{id}'].delete.responses).sort()).toEqual(['200', '202', '400', '404', '409']);
    expect(doc.components.schemas.JobDto.properties.status.enum).toEqual(['queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled']);
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
});
