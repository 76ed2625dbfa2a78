import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMaintenanceActivities, type ExpireReport } from '@menagerie/activities';
import { STALE_UPLOADS_SCHEDULE_ID, workflowIdFor } from '@menagerie/core';
import { JobRetentionRepository, MaintenanceRepository, SubmissionRepository } from '@menagerie/db';
import { createBlobStore } from '@menagerie/storage';
import { storedOf } from '../support/stored';
import { writeEnginesFile, type TestEngine } from '../support/engines-file';
import { body, getJob, queueBytes, uploadBytes, waitForJob, type Job } from '../support/http';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

/** Copies its input to its result. */
const COPY: TestEngine = { name: 'copy', cmd: ['cp', '/var/data/input', '/var/data/result'], workers: 2, cachettl: 3600 };
const COPY_TOO: TestEngine = { ...COPY, name: 'copy-too' };
/** Runs for a minute. */
const SLEEPY: TestEngine = { name: 'sleepy', cmd: ['sleep', '60'], workers: 1 };

/** Rewrites engines.json and waits until the API lists exactly `names`. */
async function reconfigure(sys: System, file: string, engines: TestEngine[]): Promise<void> {
  writeFileSync(file, readFileSync(writeEnginesFile(engines)));
  const want = engines.map((e) => e.name).sort();
  await until(
    'the API to reload engines.json',
    async () => JSON.stringify(sys.config.engines.map((e) => e.config.name).sort()) === JSON.stringify(want),
  );
}

const rowOf = async (sys: System, id: string) => (await sys.db.query(`SELECT status, error, run_id FROM jobs WHERE id = $1`, [id]))[0];

/**
 * What operators do to a running system, on the real services: terminate
 * workflows from Temporal, remove engines with jobs waiting, add one and
 * upload at once, migrate the jobs table while requests run, and race
 * submissions of one file. No job is left unfinished and no request refused.
 */
describe('what operators do to a running system', () => {
  describe('with no worker node taking the jobs', () => {
    let sys: System;
    let enginesFile: string;
    const HELD: TestEngine = { name: 'held', cmd: ['true'], workers: 1 };
    const DOOMED: TestEngine = { name: 'doomed', cmd: ['true'], workers: 1 };

    beforeAll(async () => {
      enginesFile = writeEnginesFile([HELD, DOOMED]);
      sys = await startSystem({ enginesFile, worker: false });
    });
    afterAll(async () => {
      await sys?.stop();
    });

    const started = async (id: string) => (await rowOf(sys, id))?.run_id !== null;

    it('ends the jobs whose workflows an operator terminated, and frees their dispatch window', async () => {
      // The window of an engine with one slot and no live node is 32: fill it, then one more waits unstarted.
      const ids: string[] = [];
      for (let i = 0; i < 33; i++) ids.push((await queueBytes(sys.baseUrl, 'held', `held ${i} ${randomUUID()}`)).jobid);
      await until('the window to fill', async () => (await Promise.all(ids.slice(0, 32).map(started))).every(Boolean));
      expect(await started(ids[32])).toBe(false);

      // As an operator does from the Web UI or the CLI.
      for (const id of ids.slice(0, 32)) await sys.env.client.workflow.getHandle(workflowIdFor(id)).terminate('operator');

      // They end on their own (api.reconcileSeconds), saying why.
      const ended = await Promise.all(ids.slice(0, 32).map((id) => waitForJob(sys.baseUrl, id, 90_000)));
      for (const job of ended) {
        expect({ status: job.status, error: job.error }).toEqual({
          status: 'failed',
          error: 'the workflow was terminated in Temporal ("operator") before it recorded a status',
        });
      }
      // Their window is free again: the job that waited starts.
      await until('the waiting job to start', () => started(ids[32]), 60_000);
    });

    it('ends a job whose workflow Temporal has no trace of (lost state, a recreated namespace)', async () => {
      const job = await queueBytes(sys.baseUrl, 'held', `lost ${randomUUID()}`);
      await until('its start', () => started(job.jobid));
      // What a Temporal that lost its state leaves: the row names a workflow that does not exist.
      const lost = randomUUID();
      await sys.db.query(
        `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id, run_id) SELECT $1, engine, 'queued', original_name, size, sha256, image, $2, 'lost-run' FROM jobs WHERE id = $3`,
        [lost, workflowIdFor(lost), job.jobid],
      );
      const done = await waitForJob(sys.baseUrl, lost, 90_000);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(
        `Temporal has no workflow ${workflowIdFor(lost)} (its state was lost, or the namespace recreated), so the job can't end on its own; upload the file again, or retry the job`,
      );
      // The real one, whose workflow is open, is left alone.
      expect((await getJob(sys.baseUrl, job.jobid)).status).toBe('queued');
    });

    it('ends the unstarted jobs of an engine removed from engines.json, with the reason; the started ones are left to its workers', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 34; i++) ids.push((await queueBytes(sys.baseUrl, 'doomed', `doomed ${i} ${randomUUID()}`)).jobid);
      await until('the window to fill', async () => (await Promise.all(ids.slice(0, 32).map(started))).every(Boolean));
      const waiting = ids.slice(32);
      expect(await Promise.all(waiting.map(started))).toEqual([false, false]);

      // A client waits on one of them.
      const waited = fetch(`${sys.baseUrl}/result/${waiting[0]}?wait=60`).then((r) => body<Job>(r));
      await reconfigure(sys, enginesFile, [HELD]);
      const t0 = Date.now();
      const answer = await waited;
      expect(Date.now() - t0).toBeLessThan(30_000);
      const reason =
        "engine doomed was removed from engines.json before this job started, so it can't run; upload the file to an engine GET /engines lists";
      expect({ status: answer.status, error: answer.error }).toEqual({ status: 'failed', error: reason });
      expect((await getJob(sys.baseUrl, waiting[1])).error).toBe(reason);
      // Started ones keep their workflow: a node serving the engine (until its jobs end) takes them.
      expect((await getJob(sys.baseUrl, ids[0])).status).toBe('queued');
      expect((await uploadBytes(sys.baseUrl, 'doomed', 'too late')).status).toBe(404);
    });
  });

  describe('with a worker node', () => {
    let sys: System;
    let enginesFile: string;

    beforeAll(async () => {
      enginesFile = writeEnginesFile([COPY, COPY_TOO, SLEEPY]);
      // No reconciliation here: what DELETE does alone is tested.
      sys = await startSystem({ enginesFile, settings: { api: { reconcileSeconds: 3600 } } });
      await until('the node reporting both engines', async () => {
        const engines = await body(await fetch(`${sys.baseUrl}/engines`));
        return engines.engines.every((e: { available: boolean; imageDigest: string | null }) => e.available && e.imageDigest);
      });
    });
    afterAll(async () => {
      await sys?.stop();
    });

    it('ends at once, cancelled, a running job whose workflow an operator terminated, when it is deleted', async () => {
      const job = await queueBytes(sys.baseUrl, 'sleepy', 'terminated while it runs');
      await waitForJob(sys.baseUrl, job.jobid, 60_000, (j) => j.status === 'running');
      await sys.env.client.workflow.getHandle(workflowIdFor(job.jobid)).terminate('operator');
      const t0 = Date.now();
      const res = await fetch(`${sys.baseUrl}/jobs/${job.jobid}`, { method: 'DELETE' });
      expect(res.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(await body<Job>(res)).toMatchObject({
        status: 'cancelled',
        error: `cancelled by request; its workflow ${workflowIdFor(job.jobid)} was no longer open in Temporal`,
      });
      // Its container goes too: the worker's run heard that its workflow is gone.
      await until('the container removed', async () => (await jobContainers(sys.docker, [job.jobid])).length === 0, 60_000);
    });

    it('accepts an upload to an engine the moment /engines lists it, and runs it once a node has it', async () => {
      const ADDED: TestEngine = { ...COPY, name: 'added' };
      writeFileSync(enginesFile, readFileSync(writeEnginesFile([COPY, COPY_TOO, SLEEPY, ADDED])));
      await until(
        '/engines to list the new engine',
        async () => (await body(await fetch(`${sys.baseUrl}/engines`))).engines.some((e: { name: string }) => e.name === 'added'),
        30_000,
        20,
      );
      const res = await uploadBytes(sys.baseUrl, 'added', 'hot added');
      expect({ status: res.status, body: await body(res) }).toMatchObject({ status: 201, body: { status: 'queued' } });
      const job = (await body<Job>(await fetch(`${sys.baseUrl}/jobs?engine=added`))) as unknown as { items: Job[] };
      const done = await waitForJob(sys.baseUrl, job.items[0].jobid, 60_000);
      expect(done.status).toBe('completed');
      expect(await (await fetch(`${sys.baseUrl}/link/${done.jobid}`)).text()).toBe('hot added');
    });

    it('answers every request while a column is added to the jobs table and dropped again', async () => {
      const done = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'copy', `before ${randomUUID()}`)).jobid, 60_000);
      expect(done.status).toBe('completed');
      const failures: string[] = [];
      const reads = async (n: number) => {
        // Enough at once that every pooled connection of the API has the reads prepared.
        const answers = await Promise.all(Array.from({ length: n }, () => fetch(`${sys.baseUrl}/result/${done.jobid}`)));
        for (const a of answers) if (a.status !== 200) failures.push(`GET /result ${a.status}: ${await a.text()}`);
      };
      const uploads = async (n: number) => {
        const jobs = await Promise.all(Array.from({ length: n }, (_, i) => queueBytes(sys.baseUrl, 'copy', `during ${i} ${randomUUID()}`)));
        for (const j of await Promise.all(jobs.map((j) => waitForJob(sys.baseUrl, j.jobid, 120_000)))) {
          if (j.status !== 'completed') failures.push(`job ${j.jobid} ${j.status}: ${j.error}`);
        }
      };
      await Promise.all([reads(50), uploads(4)]);
      await sys.db.query(`ALTER TABLE jobs ADD COLUMN operator_added int`);
      await Promise.all([reads(50), uploads(4)]);
      await sys.db.query(`ALTER TABLE jobs DROP COLUMN operator_added`);
      await Promise.all([reads(50), uploads(4)]);
      expect(failures).toEqual([]);
    });

    it('takes the same new file submitted at once to two engines in either order: none refused, none deadlocked', async () => {
      const submit = async (content: string, engines: string) => {
        const form = new FormData();
        form.append('upload', new Blob([content]), 'race.txt');
        const res = await fetch(`${sys.baseUrl}/submit?engines=${engines}`, { method: 'POST', body: form });
        return { status: res.status, body: await body(res) };
      };
      const answers = [];
      for (let round = 0; round < 10; round++) {
        const content = `race ${round} ${randomUUID()}`;
        answers.push(...(await Promise.all([0, 1, 2, 3, 4, 5].map((i) => submit(content, i % 2 ? 'copy,copy-too' : 'copy-too,copy')))));
      }
      expect(answers.filter((a) => a.status !== 201)).toEqual([]);
      // Each file ran once per engine; the rest were served from it.
      const jobs = answers.flatMap((a) => a.body.jobs as Job[]);
      const ended = await Promise.all(jobs.map((j) => waitForJob(sys.baseUrl, j.jobid, 120_000)));
      expect(ended.filter((j) => j.status !== 'completed')).toEqual([]);
    });

    /** Retention's expireOldJobs as the worker runs it, on this system's database and store, with these orphan-sweep bounds. */
    async function retention(orphans: { perRun?: number; pageSize?: number; graceMs?: number }) {
      const blobs = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
      await blobs.init();
      try {
        const activities = createMaintenanceActivities({
          blobs,
          jobs: new JobRetentionRepository(sys.db),
          submissions: new SubmissionRepository(sys.db),
          cursors: new MaintenanceRepository(sys.db),
          orphans,
        });
        return (await new MockActivityEnvironment().run(activities.expireOldJobs, { olderThanDays: 30 })) as ExpireReport;
      } finally {
        await blobs.close();
      }
    }

    it('removes the blobs a cache hit shared to a job whose row was never written, in bounded runs that go on where they stopped', async () => {
      const ran = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'copy', `shared ${randomUUID()}`)).jobid, 60_000);
      expect(ran.status).toBe('completed');
      // What an API that died between sharing a hit's result and log and inserting its row leaves; and uploads it never recorded.
      const blobs = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
      await blobs.init();
      const orphans = Array.from({ length: 4 }, () => randomUUID());
      for (const id of orphans.slice(0, 2)) {
        expect(await blobs.share(ran.jobid, id, 'result')).toBe(true);
        expect(await blobs.share(ran.jobid, id, 'log')).toBe(true);
      }
      for (const id of orphans.slice(2)) await blobs.put(id, 'input', Readable.from([Buffer.from('never recorded')]), 100);
      await blobs.close();
      const stored = storedOf(sys.config);
      const total = (await stored.ids()).length;

      // Two ids a run at most: every run is bounded, and each goes on from where the last stopped.
      const reads: number[] = [];
      for (let run = 0; run < Math.ceil(total / 2) + 1; run++)
        reads.push((await retention({ perRun: 2, pageSize: 1, graceMs: -60_000 })).orphanIdsRead);
      expect(Math.max(...reads)).toBeLessThanOrEqual(2);
      const left = await stored.ids();
      expect(orphans.filter((id) => left.includes(id))).toEqual([]);
      // What rows own stays: the job that ran, with everything it stored.
      expect(await stored.names(ran.jobid)).toEqual(['engine.log', 'input', 'result']);
      expect(await (await fetch(`${sys.baseUrl}/link/${ran.jobid}`)).text()).toMatch(/^shared /);
    });

    it('aborts unfinished uploads on a schedule of their own', async () => {
      await sys.env.client.schedule.getHandle(STALE_UPLOADS_SCHEDULE_ID).trigger();
      await until('the stale-uploads sweep to run', async () => {
        for await (const wf of sys.env.client.workflow.list({
          query: `WorkflowType = 'staleUploadsSweep' AND ExecutionStatus = 'Completed'`,
        }))
          return wf;
        return null;
      });
    });

    it('runs a retry only as an upload to the engine as it is now would be: its size limit and accepted types', async () => {
      const done = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'copy-too', 'plain text, retried later')).jobid, 60_000);
      expect(done.status).toBe('completed');
      await reconfigure(sys, enginesFile, [COPY, { ...COPY_TOO, sizelimit: 10 }, SLEEPY]);
      await until('the new size limit', async () => sys.config.engines.find((e) => e.config.name === 'copy-too')?.config.sizelimit === 10);
      const tooLarge = await fetch(`${sys.baseUrl}/jobs/${done.jobid}/retry`, { method: 'POST' });
      expect(tooLarge.status).toBe(413);
      expect(await body(tooLarge)).toMatchObject({
        error: 'UPLOAD_TOO_LARGE',
        message: `the file (25 bytes) is larger than engine copy-too's limit of 10 bytes; job ${done.jobid} was not retried`,
      });
      await reconfigure(sys, enginesFile, [COPY, { ...COPY_TOO, accepts: '^application/pdf$' }, SLEEPY]);
      await until(
        'the new accepted types',
        async () => sys.config.engines.find((e) => e.config.name === 'copy-too')?.config.accepts === '^application/pdf$',
      );
      const refused = await fetch(`${sys.baseUrl}/jobs/${done.jobid}/retry`, { method: 'POST' });
      expect(refused.status).toBe(422);
      expect((await body(refused)).error).toBe('ENGINE_REFUSES_TYPE');
      const [{ n }] = await sys.db.query(`SELECT count(*)::int AS n FROM jobs WHERE retry_of = $1`, [done.jobid]);
      expect(n).toBe(0);
    });
  });
});
