import { writeEnginesFile } from '../support/engines-file';
import { queueBytes, waitForJob } from '../support/http';
import { TemporalServer } from '../support/fault-services';
import { until } from '../support/until';
import { activityAttempts } from '../support/temporal';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** A Temporal dev server of the test's own, keeping its state in a SQLite file, is restarted mid-job. */
describe('Temporal dev server restarted mid-job', () => {
  let temporal: TemporalServer;
  let sys: System;

  beforeAll(async () => {
    temporal = await TemporalServer.start();
    const enginesFile = writeEnginesFile([
      { name: 'steady', cmd: ['sh', '-c', 'sleep 8; cp /var/data/input /var/data/result'], timeout: 120 },
    ]);
    sys = await startSystem({ enginesFile, temporalAddress: temporal.address });
  });
  afterAll(async () => {
    await sys?.stop();
    await temporal?.destroy();
  });

  it('completes the running job, and takes new uploads once the server is back', async () => {
    const job = await queueBytes(sys.baseUrl, 'steady', 'survives a Temporal restart');
    await until('engine container running', async () => (await jobContainers(sys.docker, [job.jobid])).some((c) => c.State === 'running'));

    await temporal.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    await temporal.restart();

    const done = await waitForJob(sys.baseUrl, job.jobid, 180_000);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
    expect(await (await fetch(`${sys.baseUrl}/link/${job.jobid}`)).text()).toBe('survives a Temporal restart');
    // The run carried on through the outage rather than being retried.
    expect(await activityAttempts(sys.env.client, job.jobid)).toEqual([1]);

    const next = await queueBytes(sys.baseUrl, 'steady', 'after the restart');
    expect((await waitForJob(sys.baseUrl, next.jobid, 120_000)).status).toBe('completed');
    expect(await jobContainers(sys.docker, [job.jobid, next.jobid])).toEqual([]);
  });
});
