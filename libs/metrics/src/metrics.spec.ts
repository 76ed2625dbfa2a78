import type { Registry } from 'prom-client';
import { MenagerieError } from '@menagerie/core';
import { metricsAuthorized, methodLabel, routeLabel, serveMetrics } from './http';
import { ApiMetrics, WorkerMetrics } from './metrics';

/** The value of one series (a name ending in _count or _sum reads a histogram's); undefined when it has none. */
async function valueOf(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const suffix = /_(count|sum)$/.exec(name)?.[0];
  const metric = registry.getSingleMetric(suffix ? name.slice(0, -suffix.length) : name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const sameLabels = (got: Record<string, unknown>) =>
    Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, want]) => String(got[k]) === want);
  return values.find((v) => (!suffix || (v as { metricName?: string }).metricName === name) && sameLabels(v.labels))?.value;
}

const active = (entries: Array<[string, { queued: number; running: number }]>) => async () => new Map(entries);

describe('routeLabel', () => {
  it('names the pattern a request matched, never its parameters', () => {
    expect(routeLabel({ baseUrl: '', route: { path: '/result/:id' } })).toBe('/result/:id');
    expect(routeLabel({ baseUrl: '/console', route: { path: '/jobs/:id' } })).toBe('/console/jobs/:id');
  });

  it('calls a request that matched no route unmatched', () => {
    expect(routeLabel({ baseUrl: '' })).toBe('unmatched');
    expect(routeLabel({ route: { path: /regex/ } })).toBe('unmatched');
  });
});

describe('methodLabel', () => {
  it('keeps the known methods and folds the rest into OTHER', () => {
    expect(methodLabel('get')).toBe('GET');
    expect(methodLabel('DELETE')).toBe('DELETE');
    expect(methodLabel('PROPFIND')).toBe('OTHER');
    expect(methodLabel(undefined)).toBe('OTHER');
  });
});

describe('metricsAuthorized', () => {
  it('lets every scrape in without a token', () => {
    expect(metricsAuthorized(undefined, '')).toBe(true);
  });

  it('wants the token as a bearer when one is set', () => {
    const token = 'a-metrics-token-of-some-length';
    expect(metricsAuthorized(`Bearer ${token}`, token)).toBe(true);
    expect(metricsAuthorized(undefined, token)).toBe(false);
    expect(metricsAuthorized('Bearer ', token)).toBe(false);
    expect(metricsAuthorized(`Bearer ${token}x`, token)).toBe(false);
    expect(metricsAuthorized(token, token)).toBe(false);
  });
});

describe('ApiMetrics', () => {
  it('shows queued and running by engine from one read per scrape, 0 for a configured engine without jobs', async () => {
    const read = jest.fn(active([['clamav', { queued: 3, running: 1 }]]));
    const metrics = new ApiMetrics({ engines: () => ['clamav', 'yara'], activeJobs: read });
    const { body } = await metrics.scrape();
    expect(body).toContain('menagerie_jobs_queued{engine="clamav"} 3');
    expect(body).toContain('menagerie_jobs_running{engine="clamav"} 1');
    expect(body).toContain('menagerie_jobs_queued{engine="yara"} 0');
    expect(body).toContain('menagerie_jobs_running{engine="yara"} 0');
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('reads the database again at the next scrape, and drops an engine that has gone', async () => {
    let engines = ['clamav', 'yara'];
    const metrics = new ApiMetrics({ engines: () => engines, activeJobs: active([]) });
    await metrics.scrape();
    engines = ['clamav'];
    const { body } = await metrics.scrape();
    expect(body).toContain('menagerie_jobs_queued{engine="clamav"} 0');
    expect(body).not.toContain('engine="yara"');
  });

  it('leaves the gauges without values when the database does not answer, rather than a false 0', async () => {
    const metrics = new ApiMetrics({ engines: () => ['clamav'], activeJobs: async () => Promise.reject(new Error('connection refused')) });
    const { body } = await metrics.scrape();
    expect(body).toContain('# TYPE menagerie_jobs_queued gauge');
    expect(body).not.toMatch(/^menagerie_jobs_(queued|running)\{/m);
  });

  it("counts an accepted upload's bytes and time, and a refusal by its code, passing the error on", async () => {
    const metrics = new ApiMetrics({ engines: () => [], activeJobs: active([]) });
    await expect(
      metrics.timeUpload(
        'upload',
        async () => ({ size: 1234 }),
        (j) => j.size,
      ),
    ).resolves.toEqual({ size: 1234 });
    const tooLarge = new MenagerieError('UPLOAD_TOO_LARGE', 'too large');
    await expect(
      metrics.timeUpload(
        'upload',
        async () => Promise.reject(tooLarge),
        () => 0,
      ),
    ).rejects.toBe(tooLarge);
    await expect(
      metrics.timeUpload(
        'submit',
        async () => Promise.reject(new Error('boom')),
        () => 0,
      ),
    ).rejects.toThrow('boom');
    const r = metrics.registry;
    expect(await valueOf(r, 'menagerie_upload_bytes_total', { endpoint: 'upload' })).toBe(1234);
    expect(await valueOf(r, 'menagerie_upload_refusals_total', { endpoint: 'upload', code: 'UPLOAD_TOO_LARGE' })).toBe(1);
    expect(await valueOf(r, 'menagerie_upload_refusals_total', { endpoint: 'submit', code: 'INTERNAL' })).toBe(1);
    expect(await valueOf(r, 'menagerie_upload_duration_seconds_count', { endpoint: 'upload', outcome: 'accepted' })).toBe(1);
    expect(await valueOf(r, 'menagerie_upload_duration_seconds_count', { endpoint: 'upload', outcome: 'refused' })).toBe(1);
  });

  it('counts requests by route and status, and their latency by route', async () => {
    const metrics = new ApiMetrics({ engines: () => [], activeJobs: active([]) });
    const start = process.hrtime.bigint();
    metrics.httpAnswered('GET', '/result/:id', '200', start);
    metrics.httpAnswered('GET', '/result/:id', '404', start);
    metrics.httpAnswered('GET', '/result/:id', '200', start);
    const r = metrics.registry;
    expect(await valueOf(r, 'menagerie_http_requests_total', { method: 'GET', route: '/result/:id', status: '200' })).toBe(2);
    expect(await valueOf(r, 'menagerie_http_requests_total', { method: 'GET', route: '/result/:id', status: '404' })).toBe(1);
    expect(await valueOf(r, 'menagerie_http_request_duration_seconds_count', { method: 'GET', route: '/result/:id' })).toBe(3);
  });
});

describe('WorkerMetrics', () => {
  const sources = { node: 'node-a', runningContainers: () => 2, scratchBytes: async () => 4096 };

  it('observes the queue wait of a job whose container started, and counts every final status it wrote', async () => {
    const metrics = new WorkerMetrics(sources);
    metrics.jobEnded({ engine: 'clamav', status: 'completed', queuedSeconds: 1.5 });
    metrics.jobEnded({ engine: 'clamav', status: 'completed', queuedSeconds: null });
    metrics.jobEnded({ engine: 'clamav', status: 'failed', queuedSeconds: 0.2 });
    const r = metrics.registry;
    expect(await valueOf(r, 'menagerie_jobs_ended_total', { engine: 'clamav', status: 'completed' })).toBe(2);
    expect(await valueOf(r, 'menagerie_jobs_ended_total', { engine: 'clamav', status: 'failed' })).toBe(1);
    expect(await valueOf(r, 'menagerie_job_queue_wait_seconds_count', { engine: 'clamav' })).toBe(2);
    expect(await valueOf(r, 'menagerie_job_queue_wait_seconds_sum', { engine: 'clamav' })).toBeCloseTo(1.7);
  });

  it("reads the node's containers and scratch at scrape time, and leaves scratch unknown when it cannot be measured", async () => {
    const { body } = await new WorkerMetrics(sources).scrape();
    expect(body).toContain('menagerie_node_running_containers{node="node-a"} 2');
    expect(body).toContain('menagerie_node_scratch_bytes{node="node-a"} 4096');
    const broken = await new WorkerMetrics({ ...sources, scratchBytes: async () => Promise.reject(new Error('EIO')) }).scrape();
    expect(broken.body).not.toMatch(/^menagerie_node_scratch_bytes\{/m);
  });

  it("counts the worker's cache re-checks apart from the lookups at upload", async () => {
    const metrics = new WorkerMetrics(sources);
    metrics.cacheLookup('clamav', 'hit');
    expect(await valueOf(metrics.registry, 'menagerie_cache_lookups_total', { engine: 'clamav', at: 'worker', outcome: 'hit' })).toBe(1);
  });
});

describe('serveMetrics', () => {
  const token = 'a-metrics-token-of-some-length';
  const scrape = async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'menagerie_x 1\n' });

  it('serves GET /metrics on the port the OS chose, behind the token when one is set', async () => {
    const server = await serveMetrics({ host: '127.0.0.1', port: 0, token, scrape });
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
      expect((await fetch(server.url)).status).toBe(401);
      const ok = await fetch(server.url, { headers: { Authorization: `Bearer ${token}` } });
      expect([ok.status, await ok.text()]).toEqual([200, 'menagerie_x 1\n']);
      expect((await fetch(server.url.replace('/metrics', '/other'), { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
    } finally {
      await server.close();
      await server.close();
    }
  });

  it('needs an API key when keys are set and no token is, and is open only when neither is', async () => {
    const apiKey = 'an-api-key-of-some-length';
    const keyed = await serveMetrics({ host: '127.0.0.1', port: 0, token: '', apiKeys: ['another-key', apiKey], scrape });
    const open = await serveMetrics({ host: '127.0.0.1', port: 0, token: '', apiKeys: [], scrape });
    try {
      expect((await fetch(keyed.url)).status).toBe(401);
      expect((await fetch(keyed.url, { headers: { Authorization: 'Bearer not-a-key' } })).status).toBe(401);
      expect((await fetch(keyed.url, { headers: { Authorization: `Bearer ${apiKey}` } })).status).toBe(200);
      expect((await fetch(open.url)).status).toBe(200);
    } finally {
      await keyed.close();
      await open.close();
    }
    // With a token, the token alone: an API key is refused.
    const tokened = await serveMetrics({ host: '127.0.0.1', port: 0, token, apiKeys: [apiKey], scrape });
    try {
      expect((await fetch(tokened.url, { headers: { Authorization: `Bearer ${apiKey}` } })).status).toBe(401);
      expect((await fetch(tokened.url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await tokened.close();
    }
  });

  it('answers 500 naming the failure when the metrics cannot be collected', async () => {
    const server = await serveMetrics({
      host: '127.0.0.1',
      port: 0,
      token: '',
      scrape: async () => Promise.reject(new Error('no database')),
    });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'INTERNAL', message: 'could not collect the metrics: no database' });
    } finally {
      await server.close();
    }
  });
});
