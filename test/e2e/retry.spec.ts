import { randomUUID } from 'node:crypto';
import { JobRetentionRepository } from '@menagerie/db';
import { createBlobStore } from '@menagerie/storage';
import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** POST /jobs/<id>/retry: an ended job run again as a new, linked job. */
describe('retry', () => {
  let sys: System;

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      { name: 'filemeta', cmd: '/engine/run.sh' },
      // Fails unless its input says "pass".
      {
        name: 'picky',
        cmd: [
          '/bin/sh',
          '-c',
          'grep -q pass "$MENAGERIE_MOUNTPOINT/input" && cp "$MENAGERIE_MOUNTPOINT/input" "$MENAGERIE_MOUNTPOINT/result"',
        ],
      },
      { name: 'slow', cmd: ['/bin/sh', '-c', 'sleep 30'] },
    ]);
    sys = await startSystem({ enginesFile });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const retry = (id: string) => fetch(`${sys.baseUrl}/jobs/${id}/retry`, { method: 'POST' });

  it('runs an ended job again as a new job on the same input, with the engine run (not the cache), linked both ways', async () => {
    const content = `retry me ${randomUUID()}`;
    const first = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'filemeta', content, 'again.txt')).jobid, 120_000);
    expect(first.status).toBe('completed');

    const res = await retry(first.jobid.toUpperCase());
    expect(res.status).toBe(201);
    const queued = await body<Job>(res);
    expect(res.headers.get('location')).toBe(`/result/${queued.jobid}`);
    expect(queued).toMatchObject({
      status: 'queued',
      engine: 'filemeta',
      retryOf: first.jobid,
      forced: true,
      cached: false,
      input: first.input,
    });
    const again = await waitForJob(sys.baseUrl, queued.jobid, 120_000);
    expect(again).toMatchObject({ status: 'completed', cached: false, result: first.result });
    expect(again.startedAt).not.toBeNull();
    expect(await (await fetch(again.resultUrl!)).text()).toBe(await (await fetch(first.resultUrl!)).text());
    expect(await body(await fetch(`${sys.baseUrl}/result/${first.jobid}`))).toMatchObject({ retriedAs: queued.jobid, retryOf: null });
  });

  it("retries a failed job, and a submission's job, from the stored input", async () => {
    const failed = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'picky', 'no')).jobid, 120_000);
    expect(failed.status).toBe('failed');
    const rerun = await waitForJob(sys.baseUrl, (await body<Job>(await retry(failed.jobid))).jobid, 120_000);
    expect(rerun).toMatchObject({ status: 'failed', retryOf: failed.jobid });

    const form = new FormData();
    form.append('upload', new Blob([`pass ${randomUUID()}`]), 'in.txt');
    const submission = await body(await fetch(`${sys.baseUrl}/submit?engines=picky,filemeta`, { method: 'POST', body: form }));
    const done = await body(await fetch(`${sys.baseUrl}/submission/${submission.submissionId}?wait=60`));
    const picky = done.jobs.find((j: Job) => j.engine === 'picky');
    expect(picky.status).toBe('completed');
    const retried = await waitForJob(sys.baseUrl, (await body<Job>(await retry(picky.jobid))).jobid, 120_000);
    expect(retried).toMatchObject({ status: 'completed', retryOf: picky.jobid, submission: null });
  });

  it('refuses a job that has not ended with 409, and one whose input retention removed with 410, keeping nothing', async () => {
    const running = await queueBytes(sys.baseUrl, 'slow', `slow ${randomUUID()}`);
    const refused = await retry(running.jobid);
    expect(refused.status).toBe(409);
    expect(await body(refused)).toMatchObject({
      error: 'JOB_NOT_ENDED',
      message: expect.stringMatching(/wait for it to end .*or cancel it/),
    });
    await fetch(`${sys.baseUrl}/jobs/${running.jobid}`, { method: 'DELETE' });

    const old = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'filemeta', `old ${randomUUID()}`)).jobid, 120_000);
    // What retention does: the files removed, the row marked expired.
    const blobs = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
    await blobs.remove(old.jobid);
    await new JobRetentionRepository(sys.db).markExpired(old.jobid);
    await blobs.close();
    const before = Number((await sys.db.query('SELECT count(*)::int AS n FROM jobs'))[0].n);
    const expired = await retry(old.jobid);
    expect(expired.status).toBe(410);
    expect(await body(expired)).toMatchObject({
      error: 'INPUT_EXPIRED',
      message: expect.stringMatching(/removed by retention .*upload the file again/),
    });
    expect(Number((await sys.db.query('SELECT count(*)::int AS n FROM jobs'))[0].n)).toBe(before);
  });
});
