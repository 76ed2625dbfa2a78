import { MockActivityEnvironment } from '@temporalio/testing';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMaintenanceActivities } from '@menagerie/activities';
import { JobRetentionRepository, MaintenanceRepository, SubmissionRepository } from '@menagerie/db';
import { createBlobStore, type BlobStore } from '@menagerie/storage';
import type { SubmissionView } from '../../apps/api/src/submissions/submission.view';
import { writeEnginesFile } from '../support/engines-file';
import { sampleEngine } from '../support/sample-engines';
import { FIXTURES } from '../support/env';
import { body, getJob } from '../support/http';
import { storedOf } from '../support/stored';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(600_000);

const APK_TYPE = 'application/vnd.android.package-archive';
const BINARY = '^application/octet-stream$';

/**
 * apktool takes APKs only (so `auto` routes by type); `broken` fails, `slow-a`
 * and `slow-b` take 30 s. These three take only unrecognised binary, so
 * `auto` never picks them for an APK or a text file.
 */
function enginesFile(): string {
  return writeEnginesFile([
    sampleEngine('apktool', { accepts: `^${APK_TYPE.replace(/\./g, '\\.')}$` }),
    { name: 'filemeta', workers: 4, cmd: '/engine/run.sh', sizelimit: 50_000_000 },
    { name: 'broken', cmd: ['/usr/bin/false'], sizelimit: 1000, accepts: BINARY },
    ...['slow-a', 'slow-b'].map((name) => ({
      name,
      cmd: ['sh', '-c', 'sleep 30; cp /var/data/input /var/data/result'],
      timeout: 120,
      accepts: BINARY,
    })),
  ]);
}

/** Random bytes with a NUL: detected as application/octet-stream, and never in the cache. */
const binary = (size = 200) => Buffer.concat([Buffer.from([0]), randomBytes(size - 1)]);

describe('submissions: one upload, several engines', () => {
  let sys: System;
  const apk = readFileSync(join(FIXTURES, 'sample.apk'));
  let firstId: string;

  beforeAll(async () => {
    sys = await startSystem({ enginesFile: enginesFile() });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /** POST /submit; `fields` are sent after the file, as a form may. */
  function submit(query: string, bytes: Buffer | string, name: string, fields: Record<string, string> = {}): Promise<Response> {
    const form = new FormData();
    form.append('upload', new Blob([bytes]), name);
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    return fetch(`${sys.baseUrl}/submit${query}`, { method: 'POST', body: form });
  }

  async function accepted(res: Response): Promise<SubmissionView> {
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status: 201 });
    const view = JSON.parse(text) as SubmissionView;
    expect(res.headers.get('location')).toBe(`/submission/${view.submissionId}`);
    return view;
  }

  /** The submission once every job has ended, by ?wait (each request waits up to 60 s). */
  async function ended(id: string, timeoutMs = 300_000): Promise<SubmissionView> {
    return until(
      `submission ${id} to end`,
      async () => {
        const view = await body<SubmissionView>(await fetch(`${sys.baseUrl}/submission/${id}?wait=60`));
        return view.status !== 'running' && view;
      },
      timeoutMs,
    );
  }

  const counts = async () => {
    const [row] = await sys.db.query(
      `SELECT (SELECT count(*)::int FROM submissions) AS submissions, (SELECT count(*)::int FROM jobs) AS jobs`,
    );
    return row as { submissions: number; jobs: number };
  };

  it('runs one APK on apktool and filemeta: two completed jobs, one report, the input stored once and read by both', async () => {
    const queued = await accepted(await submit('?engines=apktool,filemeta', apk, 'sample.apk'));
    firstId = queued.submissionId;
    expect(queued).toMatchObject({
      status: 'running',
      requested: 'apktool,filemeta',
      forced: false,
      input: { name: 'sample.apk', size: apk.length, sha256: createHash('sha256').update(apk).digest('hex'), mime: APK_TYPE },
      statusUrl: `${sys.baseUrl}/submission/${firstId}`,
    });
    expect(queued.jobs.map((j) => j.engine)).toEqual(['apktool', 'filemeta']);

    const done = await ended(firstId);
    expect(done.status).toBe('completed');
    expect(done.summary).toEqual({ total: 2, queued: 0, running: 0, completed: 2, failed: 0, timed_out: 0, cancelled: 0, cached: 0 });
    expect(done.jobs.map((j) => [j.engine, j.status])).toEqual([
      ['apktool', 'completed'],
      ['filemeta', 'completed'],
    ]);
    for (const job of done.jobs) {
      // Each a normal job, that links back to its submission.
      expect((await getJob(sys.baseUrl, job.jobid)).submission).toEqual({ id: firstId, url: `${sys.baseUrl}/submission/${firstId}` });
    }
    const [apktool, filemeta] = done.jobs;
    expect(apktool!.result?.name).toBe('sample.apktool.tar.gz');
    const meta = JSON.parse(await (await fetch(filemeta!.resultUrl!)).text());
    expect(meta.sha256).toBe(queued.input.sha256);

    // Stored once, under the submission's id; each job's row says it reads that input.
    const rows: Array<{ id: string; input_from: string }> = await sys.db.query(`SELECT id, input_from FROM jobs WHERE submission_id = $1`, [
      firstId,
    ]);
    expect(rows.map((r) => r.input_from)).toEqual([firstId, firstId]);
    const stored = storedOf(sys.config);
    expect(await stored.names(firstId)).toEqual(['input']);
    for (const job of done.jobs) expect(await stored.names(job.jobid)).not.toContain('input');
  });

  it('routes engines=auto by detected type: an APK to apktool and filemeta, a text file to filemeta only (engines as a form field after the file)', async () => {
    const forApk = await accepted(await submit('', apk, 'again.apk', { engines: 'auto' }));
    expect(forApk.requested).toBe('auto');
    expect(forApk.jobs.map((j) => j.engine)).toEqual(['apktool', 'filemeta']);

    const forText = await accepted(await submit('?engines=auto', `plain words ${randomUUID()}\n`, 'notes.txt'));
    expect(forText.input.mime).toBe('text/plain');
    expect(forText.jobs.map((j) => j.engine)).toEqual(['filemeta']);
    expect((await ended(forText.submissionId)).status).toBe('completed');
    expect((await ended(forApk.submissionId)).status).toBe('completed');
  });

  it('refuses an explicit engine that rejects the type with 422, and keeps nothing: no row, no file', async () => {
    const before = { counts: await counts(), ids: await storedOf(sys.config).ids() };

    const res = await submit('?engines=filemeta,apktool', 'just some text\n', 'notes.txt');
    expect(res.status).toBe(422);
    const error = await body(res);
    expect(error.error).toBe('ENGINE_REFUSES_TYPE');
    expect(error.message).toContain('engine apktool');
    expect(error.message).toContain('package-archive');
    expect(error.message).toContain('text/plain');

    // The same when the list comes after the file, and for the other refusals.
    const refusals: Array<[Promise<Response>, number, string]> = [
      [submit('', 'just some text\n', 'notes.txt', { engines: 'apktool' }), 422, 'ENGINE_REFUSES_TYPE'],
      [submit('', binary(2000), 'big.bin', { engines: 'filemeta,broken' }), 413, 'UPLOAD_TOO_LARGE'],
      [submit('?engines=filemeta,nope', 'x', 'x.txt'), 404, 'ENGINE_UNKNOWN'],
      [submit('', 'x', 'x.txt', { engines: 'filemeta,nope' }), 404, 'ENGINE_UNKNOWN'],
      [submit('', 'x', 'x.txt'), 400, 'INVALID_ENGINES'],
      [submit('?engines=filemeta,filemeta', 'x', 'x.txt'), 400, 'INVALID_ENGINES'],
      [submit('', 'x', 'x.txt', { engines: '' }), 400, 'INVALID_ENGINES'],
    ];
    for (const [answer, status, code] of refusals) {
      const r = await answer;
      expect({ status: r.status, error: (await body(r)).error }).toEqual({ status, error: code });
    }
    expect(await counts()).toEqual(before.counts);
    expect(await storedOf(sys.config).ids()).toEqual(before.ids);
  });

  it('gives completed_with_failures when one engine fails, answering ?wait once every job has ended', async () => {
    const queued = await accepted(await submit('?engines=filemeta,broken', binary(), 'blob.bin'));
    expect((await fetch(`${sys.baseUrl}/submission/${queued.submissionId}?wait=61`)).status).toBe(400);

    const res = await fetch(`${sys.baseUrl}/submission/${queued.submissionId}?wait=60`);
    expect(res.status).toBe(200);
    const done = await body<SubmissionView>(res);
    expect(done.status).toBe('completed_with_failures');
    expect(done.jobs.map((j) => [j.engine, j.status])).toEqual([
      ['filemeta', 'completed'],
      ['broken', 'failed'],
    ]);
    expect(done.summary).toMatchObject({ total: 2, completed: 1, failed: 1 });
  });

  it('cancels every job still running with DELETE /submission/<id>', async () => {
    const queued = await accepted(await submit('?engines=slow-a,slow-b', binary(), 'slow.bin'));
    const id = queued.submissionId;
    const ids = queued.jobs.map((j) => j.jobid);
    await until('both jobs to run', async () => {
      const view = await body<SubmissionView>(await fetch(`${sys.baseUrl}/submission/${id}`));
      return view.summary.running === 2;
    });

    const res = await fetch(`${sys.baseUrl}/submission/${id}`, { method: 'DELETE' });
    expect([200, 202]).toContain(res.status);
    const done = await ended(id, 60_000);
    expect(done.jobs.map((j) => j.status)).toEqual(['cancelled', 'cancelled']);
    expect(done.status).toBe('failed');
    await until('their containers to be gone', async () => (await jobContainers(sys.docker, ids)).length === 0);

    const again = await fetch(`${sys.baseUrl}/submission/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(409);
    expect((await body(again)).error).toBe('SUBMISSION_NOT_CANCELLABLE');
  });

  it('answers 400 for an id that is not a UUID and 404 for one it does not know', async () => {
    for (const method of ['GET', 'DELETE']) {
      const bad = await fetch(`${sys.baseUrl}/submission/not-a-uuid`, { method });
      expect({ status: bad.status, error: (await body(bad)).error }).toEqual({ status: 400, error: 'INVALID_SUBMISSION_ID' });
      const unknown = await fetch(`${sys.baseUrl}/submission/${randomUUID()}`, { method });
      expect({ status: unknown.status, error: (await body(unknown)).error }).toEqual({ status: 404, error: 'SUBMISSION_NOT_FOUND' });
    }
  });

  describe('retention of the shared input', () => {
    let blobs: BlobStore;

    beforeAll(async () => {
      blobs = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
      await blobs.init();
    });
    afterAll(async () => {
      await blobs?.close();
    });

    /** Retention as the worker runs it, on the system's database and store; every upload counts as untouched for hours. */
    function expire() {
      const activities = createMaintenanceActivities({
        blobs,
        jobs: new JobRetentionRepository(sys.db),
        submissions: new SubmissionRepository(sys.db),
        cursors: new MaintenanceRepository(sys.db),
        orphans: { graceMs: -60_000 },
      });
      return new MockActivityEnvironment().run(activities.expireOldJobs, { olderThanDays: 30 });
    }
    const age = (jobId: string) => sys.db.query(`UPDATE jobs SET finished_at = now() - interval '40 days' WHERE id = $1`, [jobId]);
    const submission = async () => body<SubmissionView>(await fetch(`${sys.baseUrl}/submission/${firstId}`));

    it('keeps the input while any job of the submission still has its files, and never takes it for an abandoned upload', async () => {
      const stored = storedOf(sys.config);
      const [apktool, filemeta] = (await submission()).jobs;

      await expire();
      expect(await stored.names(firstId)).toEqual(['input']);

      await age(apktool!.jobid);
      await expire();
      expect((await getJob(sys.baseUrl, apktool!.jobid)).expiredAt).not.toBeNull();
      expect(await stored.names(firstId)).toEqual(['input']);
      expect((await submission()).expiredAt).toBeNull();

      await age(filemeta!.jobid);
      const report = await expire();
      expect(report).toMatchObject({ expiredJobs: 1, expiredSubmissions: 1 });
      expect(await stored.names(firstId)).toEqual([]);
      expect((await submission()).expiredAt).not.toBeNull();
    });
  });
});
