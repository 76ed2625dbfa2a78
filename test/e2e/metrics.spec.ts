import { randomUUID } from 'node:crypto';
import { writeEnginesFile, type TestEngine } from '../support/engines-file';
import { body, queueBytes, uploadBytes, waitForJob, type Job } from '../support/http';
import { scrape, total, type Series } from '../support/metrics';
import { freePort } from '../support/ports';
import { startWorkerProcess, type Managed } from '../support/processes';
import { useJobsDatabase } from '../support/database';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(600_000);

const FILEMETA: TestEngine = { name: 'filemeta', cmd: '/engine/run.sh', workers: 2, cachettl: 3600 };
const SLEEPER: TestEngine = { name: 'sleeper', cmd: ['sh', '-c', 'exec sleep 600'], timeout: 600 };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** How much each series moved between two scrapes. */
const moved =
  (before: Series[], after: Series[]) =>
  (name: string, labels: Record<string, string> = {}) =>
    total(after, name, labels) - total(before, name, labels);

async function digestReported(baseUrl: string, headers: Record<string, string> = {}): Promise<void> {
  // The API computes a cache key only once a node has said which digest the engine's image has.
  await until(
    'the node reporting the image digest',
    async () => (await body(await fetch(`${baseUrl}/engines`, { headers }))).engines[0].imageDigest,
  );
}

describe('GET /metrics on the API and on an in-process worker', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ enginesFile: writeEnginesFile([FILEMETA, SLEEPER]) });
    await digestReported(sys.baseUrl);
  });
  afterAll(async () => sys?.stop());

  const api = () => scrape(`${sys.baseUrl}/metrics`);
  const worker = () => scrape(sys.worker!.metricsUrl!);

  it("serves the worker's on the port the OS chose, and both are open without a metrics token", async () => {
    expect(sys.worker!.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(sys.worker!.metricsUrl).not.toContain(':9464/');
    const [a, w] = await Promise.all([api(), worker()]);
    expect(a.text).toContain('# TYPE menagerie_http_requests_total counter');
    expect(w.text).toContain('# TYPE menagerie_job_run_duration_seconds histogram');
    // Node's own process metrics come with both.
    expect(total(a.series, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(total(w.series, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('moves after a job runs, an identical upload is a cache hit and an upload is refused; no job id in any label', async () => {
    const [api0, worker0] = await Promise.all([api(), worker()]);
    const content = `metrics ${randomUUID()}\n`;
    const first = await queueBytes(sys.baseUrl, 'filemeta', content);
    expect((await waitForJob(sys.baseUrl, first.jobid)).status).toBe('completed');
    const hit = await queueBytes(sys.baseUrl, 'filemeta', content);
    expect(hit).toMatchObject({ status: 'completed', cached: true, cachedFrom: first.jobid });
    const refused = await uploadBytes(sys.baseUrl, 'no-such-engine', 'x');
    expect([refused.status, (await body(refused)).error]).toEqual([404, 'ENGINE_UNKNOWN']);

    // The worker counts its final write right after it lands, which the API may show a moment before.
    const worker1 = await until('the worker counted the job', async () => {
      const w = await worker();
      return moved(worker0.series, w.series)('menagerie_jobs_ended_total', { engine: 'filemeta', status: 'completed' }) === 1 && w;
    });
    const api1 = await api();
    const inApi = moved(api0.series, api1.series);
    const inWorker = moved(worker0.series, worker1.series);

    // HTTP: by route pattern and status, with the latency histogram's count.
    expect(inApi('menagerie_http_requests_total', { method: 'POST', route: '/:engine/upload', status: '201' })).toBe(2);
    expect(inApi('menagerie_http_requests_total', { method: 'POST', route: '/:engine/upload', status: '404' })).toBe(1);
    expect(inApi('menagerie_http_requests_total', { method: 'GET', route: '/result/:id', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(inApi('menagerie_http_request_duration_seconds_count', { method: 'POST', route: '/:engine/upload' })).toBe(3);
    // Uploads: the bytes accepted, their times, and the refusal by code.
    expect(inApi('menagerie_upload_bytes_total', { endpoint: 'upload' })).toBe(2 * Buffer.byteLength(content));
    expect(inApi('menagerie_upload_duration_seconds_count', { endpoint: 'upload', outcome: 'accepted' })).toBe(2);
    expect(inApi('menagerie_upload_duration_seconds_count', { endpoint: 'upload', outcome: 'refused' })).toBe(1);
    expect(inApi('menagerie_upload_refusals_total', { endpoint: 'upload', code: 'ENGINE_UNKNOWN' })).toBe(1);
    // The cache: a miss then a hit at upload; the run's re-check on the worker missed too.
    expect(inApi('menagerie_cache_lookups_total', { engine: 'filemeta', at: 'upload', outcome: 'miss' })).toBe(1);
    expect(inApi('menagerie_cache_lookups_total', { engine: 'filemeta', at: 'upload', outcome: 'hit' })).toBe(1);
    expect(inWorker('menagerie_cache_lookups_total', { engine: 'filemeta', at: 'worker', outcome: 'miss' })).toBe(1);
    // Final statuses, once each: the hit by the API, the run by the worker.
    expect(inApi('menagerie_jobs_ended_total', { engine: 'filemeta', status: 'completed' })).toBe(1);
    expect(inWorker('menagerie_jobs_ended_total', { engine: 'filemeta' })).toBe(1);
    // The run's duration and queue wait, one observation each.
    expect(inWorker('menagerie_job_run_duration_seconds_count', { engine: 'filemeta' })).toBe(1);
    expect(inWorker('menagerie_job_queue_wait_seconds_count', { engine: 'filemeta' })).toBe(1);
    expect(inWorker('menagerie_job_queue_wait_seconds_sum', { engine: 'filemeta' })).toBeGreaterThan(0);
    // Gauges: nothing queued or running now; the node's containers and scratch by node name.
    expect(total(api1.series, 'menagerie_jobs_queued', { engine: 'filemeta' })).toBe(0);
    // Every configured engine, 0 without jobs.
    expect(api1.series.filter((s) => s.name === 'menagerie_jobs_running')).toEqual([
      { name: 'menagerie_jobs_running', labels: { engine: 'filemeta' }, value: 0 },
      { name: 'menagerie_jobs_running', labels: { engine: 'sleeper' }, value: 0 },
    ]);
    const node = sys.config.node.name;
    expect(worker1.series.filter((s) => s.name === 'menagerie_node_running_containers')).toEqual([
      { name: 'menagerie_node_running_containers', labels: { node }, value: 0 },
    ]);
    expect(worker1.series.filter((s) => s.name === 'menagerie_node_scratch_bytes').map((s) => s.labels)).toEqual([{ node }]);

    for (const text of [api1.text, worker1.text]) expect(text).not.toMatch(UUID);
  });

  it('shows a running job in the gauges while its container runs, and its cancellation as the worker recorded it', async () => {
    const before = await worker();
    const job = await queueBytes(sys.baseUrl, 'sleeper', `sleep ${randomUUID()}\n`);
    await until('the gauges showing the run', async () => {
      const [a, w] = await Promise.all([api(), worker()]);
      return (
        total(a.series, 'menagerie_jobs_running', { engine: 'sleeper' }) === 1 && total(w.series, 'menagerie_node_running_containers') === 1
      );
    });
    expect((await fetch(`${sys.baseUrl}/jobs/${job.jobid}`, { method: 'DELETE' })).status).toBe(200);
    const after = await until('the worker counted the cancellation', async () => {
      const w = await worker();
      return moved(before.series, w.series)('menagerie_jobs_ended_total', { engine: 'sleeper', status: 'cancelled' }) === 1 && w;
    });
    expect(total(after.series, 'menagerie_node_running_containers')).toBe(0);
    expect(moved(before.series, after.series)('menagerie_job_run_duration_seconds_count', { engine: 'sleeper' })).toBe(1);
    expect(total((await api()).series, 'menagerie_jobs_running', { engine: 'sleeper' })).toBe(0);
  });
});

describe("GET /metrics behind the metrics token, on a worker process with the Temporal SDK's metrics", () => {
  const token = `metrics-${randomUUID()}`;
  const apiKey = `api-key-${randomUUID()}`;
  let sys: System;
  let worker: Managed | undefined;
  let temporalPort: number;
  const withKey = { 'X-API-Key': apiKey };
  const withToken = { Authorization: `Bearer ${token}` };

  beforeAll(async () => {
    temporalPort = await freePort();
    sys = await startSystem({
      worker: false,
      enginesFile: writeEnginesFile([FILEMETA]),
      settings: { auth: { apiKeys: [apiKey] }, metrics: { token, workerPort: 0, temporalPort } },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await sys?.stop();
  });

  it('lets the token in, without an API key, and refuses an API key alone', async () => {
    expect((await fetch(`${sys.baseUrl}/metrics`)).status).toBe(401);
    const keyOnly = await fetch(`${sys.baseUrl}/metrics`, { headers: withKey });
    expect([keyOnly.status, (await body(keyOnly)).error]).toEqual([401, 'UNAUTHORIZED']);
    expect((await fetch(`${sys.baseUrl}/metrics`, { headers: { Authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
    await expect(scrape(`${sys.baseUrl}/metrics`, withToken)).resolves.toMatchObject({
      text: expect.stringContaining('menagerie_jobs_queued'),
    });
  });

  it("shows a job queued until a worker takes it, then the worker's count and the SDK's own metrics", async () => {
    const form = new FormData();
    form.append('upload', new Blob([`queued ${randomUUID()}\n`]), 'in.txt');
    const res = await fetch(`${sys.baseUrl}/filemeta/upload`, { method: 'POST', body: form, headers: withKey });
    expect(res.status).toBe(201);
    const job = await body<Job>(res);
    // No worker node yet: the job waits, and the API's gauge (from the database) says so.
    expect(total((await scrape(`${sys.baseUrl}/metrics`, withToken)).series, 'menagerie_jobs_queued', { engine: 'filemeta' })).toBe(1);

    worker = await startWorkerProcess(sys.config);
    const served = worker
      .logs()
      .split('\n')
      .find((l) => l.includes('worker metrics served'));
    const url = (JSON.parse(served!) as { url: string }).url;
    expect((await fetch(url)).status).toBe(401);

    await until(
      'the job completed',
      async () => (await body<Job>(await fetch(`${sys.baseUrl}/result/${job.jobid}`, { headers: withKey }))).status === 'completed',
    );
    const w = await until('the worker counted it', async () => {
      const m = await scrape(url, withToken);
      return total(m.series, 'menagerie_jobs_ended_total', { engine: 'filemeta', status: 'completed' }) === 1 && m;
    });
    expect(total(w.series, 'menagerie_job_queue_wait_seconds_count', { engine: 'filemeta' })).toBe(1);
    const a = await scrape(`${sys.baseUrl}/metrics`, withToken);
    expect([
      total(a.series, 'menagerie_jobs_queued', { engine: 'filemeta' }),
      total(a.series, 'menagerie_jobs_running', { engine: 'filemeta' }),
    ]).toEqual([0, 0]);

    // The SDK's exporter, on its own port (it takes no token): its worker metrics, with the engine's task queues.
    const sdk = await until('the SDK counting the run', async () => {
      const m = await scrape(`http://127.0.0.1:${temporalPort}/metrics`);
      return (
        total(m.series, 'temporal_activity_execution_latency_seconds_count', {
          activity_type: 'runJob',
          task_queue: 'filemeta.containers',
        }) >= 1 && m
      );
    });
    expect(sdk.series.some((s) => s.name.startsWith('temporal_') && s.labels.task_queue === 'filemeta')).toBe(true);
  });
});

describe('JobRepository.recordFinalStatus, which the counts rely on', () => {
  const db = useJobsDatabase(2);

  it('answers the job as its first final write ended it, and null for a repeat, so each end is counted once', async () => {
    const id = await db.queued();
    await db.jobs.markRunning(id, 'menagerie/filemeta:stable', null);
    const first = await db.jobs.recordFinalStatus({ jobId: id, status: 'completed', exitCode: 0 });
    expect(first).toMatchObject({ engine: 'filemeta', createdAt: expect.any(Date), startedAt: expect.any(Date) });
    expect(first!.startedAt!.getTime()).toBeGreaterThanOrEqual(first!.createdAt.getTime());
    expect(await db.jobs.recordFinalStatus({ jobId: id, status: 'failed', error: 'replayed' })).toBeNull();
  });

  it('answers no start for a job whose container never started', async () => {
    const id = await db.queued();
    expect(await db.jobs.recordFinalStatus({ jobId: id, status: 'cancelled', error: 'cancelled' })).toMatchObject({ startedAt: null });
  });
});
