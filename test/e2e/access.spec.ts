import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../../apps/api/src/app';
import { body, uploadBytes } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(120_000);

const KEY = 'k3y-for-tests-0123456789';
const OTHER = 'another-key-0123456789ab';
const THIRD = 'a-third-key-0123456789ab';

/** Optional API keys and the per-key rate limit. */
describe('access control', () => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem({ worker: false, settings: { auth: { apiKeys: [KEY, OTHER, THIRD] }, rateLimit: { perMinute: 20 } } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${sys.baseUrl}${path}`, { headers });

  it('asks every call for a key, except /health', async () => {
    expect((await get('/health')).status).toBe(200);
    for (const path of ['/engines', '/jobs', '/result/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90', '/docs-json', '/console/api/jobs']) {
      const res = await get(path);
      expect(res.status).toBe(401);
      expect(await body(res)).toMatchObject({ error: 'UNAUTHORIZED' });
    }
    expect((await uploadBytes(sys.baseUrl, 'filemeta', 'x')).status).toBe(401);
    expect((await get('/engines', { 'x-api-key': 'wrong-key-0123456789abc' })).status).toBe(401);
    expect((await get('/engines', { 'x-api-key': KEY.slice(0, -1) })).status).toBe(401);
  });

  it('takes the key as X-API-Key, a bearer token, or the console cookie', async () => {
    expect((await get('/engines', { 'x-api-key': KEY })).status).toBe(200);
    expect((await get('/engines', { authorization: `Bearer ${OTHER}` })).status).toBe(200);
    expect((await get('/jobs', { cookie: `theme=dark; menagerie_api_key=${encodeURIComponent(KEY)}` })).status).toBe(200);
  });

  it('asks /metrics for a key too, when no metrics token is set: it is never open on a closed API', async () => {
    const refused = await get('/metrics');
    expect([refused.status, (await body(refused)).error]).toEqual([401, 'UNAUTHORIZED']);
    expect((await get('/metrics', { authorization: 'Bearer wrong-key-0123456789abc' })).status).toBe(401);
    expect((await get('/metrics', { 'x-api-key': KEY })).status).toBe(200);
    expect(await (await get('/metrics', { authorization: `Bearer ${THIRD}` })).text()).toContain('menagerie_jobs_queued');
  });

  it('serves the console shell without a key, so it can ask for one', async () => {
    expect((await get('/console')).status).toBe(200);
  });

  it('answers a cookie that is not URL-encoded with 401 and what to do, not 500', async () => {
    for (const cookie of [`${'menagerie_api_key'}=%`, 'menagerie_api_key=%E0%A4%A', 'theme=dark; menagerie_api_key=%zz']) {
      const res = await get('/jobs', { cookie });
      expect([cookie, res.status]).toEqual([cookie, 401]);
      expect(await body(res)).toMatchObject({
        error: 'UNAUTHORIZED',
        message: expect.stringMatching(/cookie is not URL-encoded; enter the key again/),
      });
    }
    // The console's pages still load, so the key can be entered again.
    expect((await get('/console', { cookie: 'menagerie_api_key=%' })).status).toBe(200);
  });

  it("holds a key's limit across two API replicas: what one counted, the other sees", async () => {
    // A second replica of the same deployment: its own process state, the same database.
    const second: NestExpressApplication = await createApp(sys.config);
    await second.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(second.getHttpServer().address() as { port: number }).port}`;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) {
        const base = i % 2 ? url : sys.baseUrl;
        statuses.push((await fetch(`${base}/jobs`, { headers: { 'x-api-key': THIRD } })).status);
      }
      // 20 a minute in all: each replica alone would have let 12 through.
      expect(statuses.filter((s) => s === 200)).toHaveLength(20);
      expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
    } finally {
      await second.close();
    }
  });

  it('limits each key to its own budget of requests a minute', async () => {
    let last = 0;
    for (let i = 0; i < 25; i++) last = (await get('/jobs', { 'x-api-key': OTHER })).status;
    expect(last).toBe(429);
    const limited = await get('/jobs', { 'x-api-key': OTHER });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await body(limited)).toMatchObject({ error: 'RATE_LIMITED' });
    // Another key, and /health, are unaffected.
    expect((await get('/jobs', { 'x-api-key': KEY })).status).toBe(200);
    expect((await get('/health')).status).toBe(200);
  });
});

describe('requests without a valid key, limited by client address', () => {
  let sys: System;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${sys.baseUrl}${path}`, { headers });

  beforeAll(async () => {
    // The peer (this test, on loopback) is the only proxy trusted to say whom it forwards for.
    sys = await startSystem({
      worker: false,
      settings: { auth: { apiKeys: [KEY] }, rateLimit: { perMinute: 0, unauthenticatedPerMinute: 5 }, api: { trustedProxies: [] } },
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('answers 429 past the limit of 401s from one address, whatever X-Forwarded-For it claims; a key still gets in', async () => {
    const statuses: number[] = [];
    // Each claims another client: the peer is no trusted proxy, so the claims count for nothing.
    for (let i = 0; i < 8; i++)
      statuses.push((await get('/jobs', { 'x-api-key': `guess-${i}-0123456789abcdef`, 'x-forwarded-for': `203.0.113.${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const limited = await get('/engines');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await body(limited)).message).toMatch(/more than 5 requests in a minute without a valid key from this address/);
    // A valid key is no guess; /health is open.
    expect((await get('/jobs', { 'x-api-key': KEY })).status).toBe(200);
    expect((await get('/health')).status).toBe(200);
  });

  it('behind a trusted proxy, limits the client it forwards for, not the proxy', async () => {
    const behind: NestExpressApplication = await createApp({
      ...sys.config,
      settings: { ...sys.config.settings, api: { ...sys.config.settings.api, trustedProxies: ['loopback'] } },
    });
    await behind.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(behind.getHttpServer().address() as { port: number }).port}`;
    try {
      const as = async (client: string) => (await fetch(`${url}/jobs`, { headers: { 'x-forwarded-for': client } })).status;
      const first: number[] = [];
      for (let i = 0; i < 6; i++) first.push(await as('198.51.100.7'));
      expect(first).toEqual([401, 401, 401, 401, 401, 429]);
      // Another client behind the same proxy has its own budget.
      expect(await as('198.51.100.8')).toBe(401);
    } finally {
      await behind.close();
    }
  });
});

/**
 * Every route, as the OpenAPI document and the console define it, in its
 * canonical spelling and in others (letter case, a trailing slash): only the
 * canonical path exists, and it needs a key unless it is one of the public ones.
 */
describe('access by route, whatever the spelling', () => {
  let sys: System;
  let jobId: string;
  const send = (method: string, path: string, key?: string) =>
    fetch(`${sys.baseUrl}${path}`, { method, headers: key ? { 'x-api-key': key } : {}, redirect: 'manual' });

  beforeAll(async () => {
    // No rate limit here: the sweep sends a few hundred requests with the key.
    sys = await startSystem({
      worker: false,
      settings: { auth: { apiKeys: [KEY] }, rateLimit: { perMinute: 0, unauthenticatedPerMinute: 0 } },
    });
    const res = await fetch(`${sys.baseUrl}/filemeta/upload`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: (() => {
        const form = new FormData();
        form.append('upload', new Blob(['some bytes']), 'in.bin');
        return form;
      })(),
    });
    expect(res.status).toBe(201);
    jobId = (await body(res)).jobid;
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /** [method, path] of every route, its parameters as `{name}`. */
  async function routes(): Promise<Array<[string, string]>> {
    const doc = await body(await send('GET', '/docs-json', KEY));
    const found: Array<[string, string]> = [];
    for (const [template, operations] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations)) found.push([method.toUpperCase(), template]);
    }
    expect(found.length).toBeGreaterThanOrEqual(8);
    const consoleRoutes = [
      '/console',
      '/console/engines',
      '/console/jobs',
      '/console/jobs/{id}',
      '/console/upload',
      '/console/assets/console.js',
      '/console/assets/console.css',
      '/console/api/jobs',
      '/console/api/jobs/{id}/log',
      '/console/api/jobs/{id}/preview',
      '/docs',
      '/docs-json',
    ];
    return [...found, ...consoleRoutes.map((path): [string, string] => ['GET', path])];
  }

  /** A real engine and job; DELETE gets an unknown job, so that nothing is cancelled. */
  const fill = (method: string, template: string) =>
    template.replace('{engine}', 'filemeta').replace('{id}', method === 'DELETE' ? '3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90' : jobId);

  const PUBLIC = (path: string) => path === '/health' || (path.startsWith('/console') && !path.startsWith('/console/api'));

  /** Other spellings of a path: each literal segment upper-cased, capitalised, and in alternating case; and a trailing slash. */
  function misspellings(template: string): string[] {
    const segments = template.split('/');
    const out = new Set<string>();
    segments.forEach((segment, i) => {
      if (!/[a-z]/.test(segment) || segment.startsWith('{')) return;
      for (const variant of [
        segment.toUpperCase(),
        segment[0].toUpperCase() + segment.slice(1),
        [...segment].map((c, j) => (j % 2 ? c.toUpperCase() : c)).join(''),
      ]) {
        if (variant !== segment) out.add([...segments.slice(0, i), variant, ...segments.slice(i + 1)].join('/'));
      }
    });
    if (template !== '/docs') out.add(`${template}/`); // /docs/ is the Swagger UI's own page, served too
    return [...out];
  }

  it('serves each canonical route to a key, and without one only the public ones', async () => {
    for (const [method, template] of await routes()) {
      const path = fill(method, template);
      const withKey = await send(method, path, KEY);
      expect([method, path, withKey.status === 401 || (withKey.status === 404 && (await body(withKey)).error === 'NOT_FOUND')]).toEqual([
        method,
        path,
        false,
      ]);
      const without = await send(method, path);
      if (PUBLIC(path)) expect([method, path, without.status]).toEqual([method, path, 200]);
      else {
        expect([method, path, without.status]).toEqual([method, path, 401]);
        expect(await body(without)).toMatchObject({ error: 'UNAUTHORIZED' });
      }
    }
  });

  it('has no route at any other spelling: a JSON 404, with or without a key', async () => {
    let tried = 0;
    for (const [method, template] of await routes()) {
      for (const other of misspellings(template).map((t) => fill(method, t))) {
        for (const key of [KEY, undefined]) {
          const res = await send(method, other, key);
          tried++;
          expect([method, other, key ? 'key' : 'no key', res.status]).toEqual([method, other, key ? 'key' : 'no key', 404]);
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          expect(await body(res)).toMatchObject({ error: 'NOT_FOUND', message: expect.stringMatching(/^no route for/) });
        }
      }
    }
    expect(tried).toBeGreaterThan(100);
  });

  it('finds the same job by its id in upper case, on every route that takes one', async () => {
    const upper = jobId.toUpperCase();
    for (const path of [`/result/${upper}`, `/jobs/${upper}`, `/console/api/jobs/${upper}/preview`]) {
      const res = await send('GET', path, KEY);
      expect([path, res.status]).toEqual([path, 200]);
      const json = await body(res);
      if (json.jobid !== undefined) expect(json.jobid).toBe(jobId);
    }
    // Without a key the upper-case spelling is no way in either.
    expect((await send('GET', `/console/api/jobs/${upper}/log`)).status).toBe(401);
  });
});
