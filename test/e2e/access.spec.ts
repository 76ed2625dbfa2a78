import { body, uploadBytes } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(120_000);

const KEY = 'k3y-for-tests-0123456789';
const OTHER = 'another-key-0123456789ab';

/** Optional API keys and the per-key rate limit. */
describe('access control', () => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem({ worker: false, settings: { auth: { apiKeys: [KEY, OTHER] }, rateLimit: { perMinute: 20 } } });
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

  it('serves the console shell without a key, so it can ask for one', async () => {
    expect((await get('/console')).status).toBe(200);
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
