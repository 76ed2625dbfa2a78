import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, uploadBytes, waitForJob } from '../support/http';
import { PostgresCluster } from '../support/fault-services';
import { until } from '../support/until';
import { engineJobWorkflows } from '../support/temporal';
import { storedOf } from '../support/stored';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** A PostgreSQL cluster of the test's own is stopped while a job runs, then started again. */
describe('PostgreSQL stopped', () => {
  let pg: PostgresCluster;
  let sys: System;

  beforeAll(async () => {
    pg = await PostgresCluster.create();
    const enginesFile = writeEnginesFile([
      { name: 'steady', cmd: ['sh', '-c', 'sleep 6; cp /var/data/input /var/data/result'], timeout: 120 },
    ]);
    sys = await startSystem({ enginesFile, database: pg.connection });
  });
  afterAll(async () => {
    await pg?.start().catch(() => undefined); // back up if the test failed while it was down
    await sys?.stop();
    await pg?.destroy();
  });

  it('refuses uploads with 503 and writes nothing, then records the job that finished meanwhile', async () => {
    const job = await queueBytes(sys.baseUrl, 'steady', 'finished while the database was down');
    await waitForJob(sys.baseUrl, job.jobid, 60_000, (j) => j.status === 'running');

    await pg.stop();

    const refused = await uploadBytes(sys.baseUrl, 'steady', 'sent while the database was down');
    expect(refused.status).toBe(503);
    const error = await body(refused);
    expect(error.error).toBe('DATABASE_UNAVAILABLE');
    expect(error.message).toMatch(/database is unavailable.*try again/);
    // Nothing half-written: no stored file, no workflow for the refused upload.
    expect(await storedOf(sys.config).ids()).toEqual([job.jobid]);
    expect((await engineJobWorkflows(sys.env.client)).map((wf) => wf.workflowId)).toEqual([`job-${job.jobid}`]);

    const health = await fetch(`${sys.baseUrl}/health`);
    expect(health.status).toBe(503);
    expect((await body(health)).checks.database.ok).toBe(false);

    // The engine finishes while the database is still down; the workflow waits to record it,
    // first in its own worker, then, past a minute, as a regular activity retried without limit.
    await until('engine container gone', async () => (await jobContainers(sys.docker, [job.jobid])).length === 0, 60_000);
    const handle = sys.env.client.workflow.getHandle(`job-${job.jobid}`);
    await until(
      'recordJobStatus handed to a regular activity',
      async () =>
        (await handle.fetchHistory()).events!.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordJobStatus'),
      120_000,
      1000,
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');

    await pg.start();
    const done = await waitForJob(sys.baseUrl, job.jobid, 120_000);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
    expect(await (await fetch(`${sys.baseUrl}/link/${job.jobid}`)).text()).toBe('finished while the database was down');
    expect((await fetch(`${sys.baseUrl}/health`)).status).toBe(200);

    // And uploads are taken again.
    const next = await queueBytes(sys.baseUrl, 'steady', 'after the outage');
    expect((await waitForJob(sys.baseUrl, next.jobid, 120_000)).status).toBe('completed');
  });
});
