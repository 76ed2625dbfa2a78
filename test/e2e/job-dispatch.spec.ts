import { randomUUID, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { WorkflowNotFoundError } from '@temporalio/client';
import { WORKFLOW_TYPE, workflowIdFor } from '@menagerie/core';
import { createBlobStore, type BlobStore } from '@menagerie/storage';
import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob, type Job } from '../support/http';
import { engineJobWorkflows } from '../support/temporal';
import { until } from '../support/until';
import { startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** What an API that died between recording a job and starting its workflow leaves: the input and a queued row with no run id. */
async function acceptedButNotStarted(sys: System, blobs: BlobStore, engine: string, content: string): Promise<string> {
  const id = randomUUID();
  await blobs.put(id, 'input', Readable.from([Buffer.from(content)]), 1_000_000);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const image = sys.config.engines.find((e) => e.config.name === engine)!.config.image;
  await sys.db.query(
    `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id) VALUES ($1, $2, 'queued', 'left.txt', $3, $4, $5, $6)`,
    [id, engine, content.length, sha256, image, workflowIdFor(id)],
  );
  return id;
}

async function storeOf(sys: System): Promise<BlobStore> {
  const blobs = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
  await blobs.init();
  return blobs;
}

/**
 * An upload records its row; the API's dispatcher starts the workflow from
 * it (the row is the outbox). These are the dispatcher's promises: a row
 * accepted but never started (an API that died after the INSERT) still runs,
 * a start repeated after a crash runs nothing twice, and a backlog waits in
 * PostgreSQL rather than as workflows no node can take yet.
 */
describe('job dispatch from the accepted rows', () => {
  describe('with a worker', () => {
    let sys: System;
    let blobs: BlobStore;

    beforeAll(async () => {
      const enginesFile = writeEnginesFile([{ name: 'copy', cmd: ['cp', '/var/data/input', '/var/data/result'] }]);
      sys = await startSystem({ enginesFile });
      blobs = await storeOf(sys);
    });
    afterAll(async () => {
      await blobs?.close();
      await sys?.stop();
    });

    it('starts and completes a job whose row was recorded but whose workflow never was', async () => {
      const id = await acceptedButNotStarted(sys, blobs, 'copy', 'left by a crashed API');
      const done = await waitForJob(sys.baseUrl, id, 120_000);
      expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
      expect(await (await fetch(`${sys.baseUrl}/link/${id}`)).text()).toBe('left by a crashed API');
      expect(done.temporalUrl).toMatch(new RegExp(`/workflows/job-${id}/[0-9a-f-]+/history$`));
    });

    it('keeps the upload answer and /result consistent while the start is pending or done', async () => {
      const job = await queueBytes(sys.baseUrl, 'copy', 'an ordinary upload');
      expect(job.status).toBe('queued');
      expect(job.temporalUrl).toContain(`/workflows/job-${job.jobid}`);
      const done = await waitForJob(sys.baseUrl, job.jobid, 120_000);
      expect(done.status).toBe('completed');
      expect(done.temporalUrl).toMatch(new RegExp(`/workflows/job-${job.jobid}/[0-9a-f-]+/history$`));
    });
  });

  describe('with no worker node taking the jobs', () => {
    let sys: System;
    let blobs: BlobStore;

    beforeAll(async () => {
      const enginesFile = writeEnginesFile([
        { name: 'held', cmd: ['true'], workers: 1 },
        { name: 'other', cmd: ['true'], workers: 1 },
      ]);
      sys = await startSystem({ enginesFile, worker: false });
      blobs = await storeOf(sys);
    });
    afterAll(async () => {
      await blobs?.close();
      await sys?.stop();
    });

    const startedIds = async () =>
      (await sys.db.query(`SELECT id FROM jobs WHERE engine = 'held' AND run_id IS NOT NULL`))
        .map((r: { id: string }) => r.id as string)
        .sort();

    it('starts a bounded window of workflows, oldest first; the rest wait as rows, and one of them is cancelled without ever starting', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await queueBytes(sys.baseUrl, 'held', `held ${i}`)).jobid);
      // The window of an engine with one slot and no live node is 32 (MIN_AHEAD).
      const started = await until('the window to fill', async () => {
        const s = await startedIds();
        return s.length === 32 ? s : null;
      });
      // Oldest first.
      expect(started).toEqual([...ids.slice(0, 32)].sort());
      const workflows = (await engineJobWorkflows(sys.env.client)).map((wf) => wf.workflowId).sort();
      expect(workflows).toEqual(started.map(workflowIdFor).sort());

      const waiting = ids[39];
      const res = await fetch(`${sys.baseUrl}/jobs/${waiting}`, { method: 'DELETE' });
      expect(res.status).toBe(200);
      const cancelled = await body<Job>(res);
      expect({ status: cancelled.status, error: cancelled.error }).toEqual({ status: 'cancelled', error: 'cancelled before it started' });
      await expect(sys.env.client.workflow.getHandle(workflowIdFor(waiting)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

      const [row] = await sys.db.query('SELECT status, run_id FROM jobs WHERE id = $1', [waiting]);
      expect(row).toEqual({ status: 'cancelled', run_id: null });
      expect(await startedIds()).toEqual(started);
    });

    it('records the existing run, starting no second one, when a workflow was started but its start never recorded', async () => {
      const id = await acceptedButNotStarted(sys, blobs, 'other', 'started, then the API died');
      const engine = sys.config.engines.find((e) => e.config.name === 'other')!;
      // The start a crashed API made, with the id and input the dispatcher uses; no node takes it, so the row stays queued.
      const first = await sys.env.client.workflow.start(WORKFLOW_TYPE, {
        workflowId: workflowIdFor(id),
        taskQueue: 'other',
        args: [{ jobId: id, engine: engine.spec, originalName: 'left.txt' }],
      });
      const recorded = await until('the run id to be recorded', async () => {
        const [row] = await sys.db.query('SELECT run_id FROM jobs WHERE id = $1', [id]);
        return row.run_id as string | null;
      });
      expect(recorded).toBe(first.firstExecutionRunId);
      const runs = (await engineJobWorkflows(sys.env.client)).filter((wf) => wf.workflowId === workflowIdFor(id));
      expect(runs.map((wf) => wf.runId)).toEqual([first.firstExecutionRunId]);
    });
  });
});
