import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../support/until';
import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob, type Job } from '../support/http';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** Every way a job can end records a final status and leaves no container. */
describe('job lifecycle', () => {
  let sys: System;
  const jobIds: string[] = [];

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      { name: 'failing', cmd: ['sh', '-c', 'echo "about to fail"; echo "bad input" >&2; exit 3'] },
      { name: 'sleeper', cmd: ['sh', '-c', 'echo started; exec sleep 600'], timeout: 600 },
      { name: 'slowpoke', cmd: ['sh', '-c', 'echo "partial output"; exec sleep 600'], timeout: 2 },
      { name: 'silent', cmd: ['true'] },
      { name: 'busy', cmd: ['sh', '-c', 'sleep 600'], workers: 1, timeout: 600 },
    ]);
    sys = await startSystem({ enginesFile });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  async function submit(engine: string): Promise<Job> {
    const job = await queueBytes(sys.baseUrl, engine, 'payload');
    jobIds.push(job.jobid);
    return job;
  }

  it('records a failing engine with its exit code and output', async () => {
    const job = await waitForJob(sys.baseUrl, (await submit('failing')).jobid);
    expect(job).toMatchObject({ status: 'failed', exitCode: 3, error: 'engine exited with code 3', result: null, resultUrl: null });
    expect(job.logTail).toContain('about to fail');
    expect(job.logTail).toContain('bad input');
    const link = await fetch(`${sys.baseUrl}/link/${job.jobid}`);
    expect(link.status).toBe(404);
    expect((await body(link)).message).toMatch(/ended failed without a result/);
  });

  it('fails a job whose engine writes no result', async () => {
    const job = await waitForJob(sys.baseUrl, (await submit('silent')).jobid);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/wrote no result file at \/var\/data\/result/);
  });

  it('answers /result?wait=N once the job has ended, or after N seconds', async () => {
    const failing = await submit('failing');
    const res = await fetch(`${sys.baseUrl}/result/${failing.jobid}?wait=60`);
    expect(res.status).toBe(200);
    expect((await body<Job>(res)).status).toBe('failed');

    const sleeper = await submit('sleeper');
    const started = Date.now();
    const waited = await body<Job>(await fetch(`${sys.baseUrl}/result/${sleeper.jobid}?wait=2`));
    expect(['queued', 'running']).toContain(waited.status);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    await fetch(`${sys.baseUrl}/jobs/${sleeper.jobid}`, { method: 'DELETE' });
    expect((await body<Job>(await fetch(`${sys.baseUrl}/result/${sleeper.jobid}?wait=60`))).status).toBe('cancelled');

    for (const wait of ['61', '-1', 'soon', '1.5']) {
      const bad = await fetch(`${sys.baseUrl}/result/${sleeper.jobid}?wait=${wait}`);
      expect(bad.status).toBe(400);
      expect(await body(bad)).toMatchObject({
        error: 'INVALID_QUERY',
        message: expect.stringMatching(/wait must be a whole number of seconds from 0 to 60/),
      });
    }
  });

  it('kills an engine at its timeout and records timed_out with the partial log', async () => {
    const job = await waitForJob(sys.baseUrl, (await submit('slowpoke')).jobid, 60_000);
    expect(job).toMatchObject({ status: 'timed_out' });
    expect(job.error).toMatch(/timeout of 2s/);
    expect(job.logTail).toContain('partial output');
    const took = new Date(job.finishedAt!).getTime() - new Date(job.startedAt!).getTime();
    expect(took).toBeLessThan(30_000);
  });

  it('cancels a running job: its container is killed and its status becomes cancelled', async () => {
    const queued = await submit('sleeper');
    await waitForJob(sys.baseUrl, queued.jobid, 60_000, (j) => j.status === 'running');
    // While it runs, its container exists, labelled with the job id.
    expect((await jobContainers(sys.docker, [queued.jobid])).length).toBe(1);

    const res = await fetch(`${sys.baseUrl}/jobs/${queued.jobid}`, { method: 'DELETE' });
    expect([200, 202]).toContain(res.status);
    const job = await waitForJob(sys.baseUrl, queued.jobid, 60_000);
    expect(job.status).toBe('cancelled');
    expect(await jobContainers(sys.docker, [queued.jobid])).toEqual([]);

    const again = await fetch(`${sys.baseUrl}/jobs/${queued.jobid}`, { method: 'DELETE' });
    expect(again.status).toBe(409);
  });

  it('cancels a job that is still queued behind a busy engine', async () => {
    const first = await submit('busy');
    await waitForJob(sys.baseUrl, first.jobid, 60_000, (j) => j.status === 'running');
    const second = await submit('busy');
    const res = await fetch(`${sys.baseUrl}/jobs/${second.jobid}`, { method: 'DELETE' });
    expect([200, 202]).toContain(res.status);
    const cancelled = await waitForJob(sys.baseUrl, second.jobid, 60_000);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.startedAt).toBeNull();
    await fetch(`${sys.baseUrl}/jobs/${first.jobid}`, { method: 'DELETE' });
    expect((await waitForJob(sys.baseUrl, first.jobid, 60_000)).status).toBe('cancelled');
  });

  it('cleans every job directory and container', async () => {
    expect(await jobContainers(sys.docker, jobIds)).toEqual([]);
    // A job's directory is removed just after its run, in the background.
    const jobsDir = join(sys.config.storageDir, 'jobs');
    const left = () => (existsSync(jobsDir) ? readdirSync(jobsDir) : []);
    await until('every job directory removed', async () => left().length === 0, 10_000).catch(() => undefined);
    expect(left()).toEqual([]);
  });
});
