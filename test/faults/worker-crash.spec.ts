import { DEPLOYMENT_LABEL } from '@menagerie/runtime';
import { writeEnginesFile } from '../support/engines-file';
import { getJob, queueBytes, waitForJob } from '../support/http';
import { startWorkerProcess, type Managed } from '../support/processes';
import { until } from '../support/until';
import { activityAttempts } from '../support/temporal';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/**
 * The worker is its own process (apps/worker/dist) and is killed with SIGKILL
 * while the engine's container runs: no shutdown hook gets to clean up.
 */
describe('worker killed with SIGKILL while a container runs', () => {
  let sys: System;
  let worker: Managed | undefined;

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      // Appends: a retry that found the first attempt's result would answer the input twice.
      { name: 'steady', cmd: ['sh', '-c', 'sleep 8; cat /var/data/input >> /var/data/result'], timeout: 120 },
    ]);
    sys = await startSystem({ enginesFile, worker: false });
    worker = await startWorkerProcess(sys.config);
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await sys?.stop();
  });

  it('retries the run on the next worker, completes the job and leaves no container', async () => {
    const job = await queueBytes(sys.baseUrl, 'steady', 'survives a worker crash');
    const [first] = await until('engine container running', async () => {
      const running = (await jobContainers(sys.docker, [job.jobid])).filter((c) => c.State === 'running');
      return running.length ? running : undefined;
    });

    // The worker process is this test's deployment, not the host's default one.
    expect(first.Labels[DEPLOYMENT_LABEL]).toBe(sys.deployment);

    await worker!.stop('SIGKILL');
    // Nobody is left to stop it: the container outlives its worker.
    expect(await jobContainers(sys.docker, [job.jobid])).toHaveLength(1);

    worker = await startWorkerProcess(sys.config);
    // While the retry runs, it is the job's only container: the first attempt's was removed before it started.
    const retried = await until(
      'the retried engine container running',
      async () => {
        const running = (await jobContainers(sys.docker, [job.jobid])).filter((c) => c.State === 'running' && c.Id !== first.Id);
        return running.length ? running[0] : undefined;
      },
      120_000,
      100,
    );
    expect((await jobContainers(sys.docker, [job.jobid])).map((c) => c.Id)).toEqual([retried.Id]);
    expect((await getJob(sys.baseUrl, job.jobid)).status).toBe('running');
    const done = await waitForJob(sys.baseUrl, job.jobid, 180_000);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
    expect(await (await fetch(`${sys.baseUrl}/link/${job.jobid}`)).text()).toBe('survives a worker crash');

    // The run was retried once its heartbeat stopped, from a fresh job directory, and the first attempt's container was removed.
    expect(await activityAttempts(sys.env.client, job.jobid)).toEqual([2]);
    expect(await jobContainers(sys.docker, [job.jobid])).toEqual([]);
  });
});
