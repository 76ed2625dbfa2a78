import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerQueueFor } from '@menagerie/core';
import { jobDirOf } from '../support/stored';
import { writeEnginesFile, type TestEngine } from '../support/engines-file';
import { queueBytes, waitForJob } from '../support/http';
import { startWorkerProcess, type Managed } from '../support/processes';
import { activityAttempts } from '../support/temporal';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

/** Runs until the test puts `release` in its job directory, so the job lasts exactly as long as the test needs. */
const gated = (workers: number): TestEngine => ({
  name: 'gated',
  workers,
  timeout: 120,
  cmd: ['sh', '-c', 'while [ ! -e /var/data/release ]; do sleep 0.1; done; cat /var/data/input > /var/data/result'],
});

function logLines(worker: Managed): Array<Record<string, unknown>> {
  return worker
    .logs()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // not JSON, or cut at the start of the kept output
      }
    });
}

/**
 * The worker is its own process, so that SIGTERM goes through its real
 * shutdown: a reload raises the engine's `workers` while a job runs, and the
 * process is stopped before that job ends.
 */
describe('a reload that changes `workers`, then SIGTERM while a job runs', () => {
  let sys: System;
  let enginesFile: string;
  let worker: Managed | undefined;
  const jobs: string[] = [];

  const release = (jobId: string) => writeFileSync(join(jobDirOf(sys.config, jobId), 'release'), '');
  const running = async (jobId: string) => (await jobContainers(sys.docker, [jobId])).some((c) => c.State === 'running');

  beforeAll(async () => {
    enginesFile = writeEnginesFile([gated(1)]);
    sys = await startSystem({ enginesFile, worker: false });
    worker = await startWorkerProcess(sys.config);
  });
  afterAll(async () => {
    for (const id of jobs) {
      try {
        release(id); // so that no container outlives a failed test
      } catch {
        // its directory is gone
      }
    }
    await worker?.stop('SIGTERM', 60_000);
    await sys?.stop();
  });

  it('applies the new bound to the running worker; the jobs complete and the worker exits cleanly', async () => {
    const first = await queueBytes(sys.baseUrl, 'gated', 'first');
    jobs.push(first.jobid);
    await until('the first container running', () => running(first.jobid));
    // `workers: 1` keeps it queued until the reload.
    const second = await queueBytes(sys.baseUrl, 'gated', 'second');
    jobs.push(second.jobid);

    // Same path, new content, as an operator's editor does.
    writeFileSync(enginesFile, readFileSync(writeEnginesFile([gated(2)])));
    await until('the second container running beside the first', () => running(second.jobid));

    const old = worker!;
    const exited = old.stop('SIGTERM', 120_000);
    await until(
      'the container worker stopping',
      async () =>
        !old.running ||
        logLines(old).some((l) => l.msg === 'Worker state changed' && l.taskQueue === containerQueueFor('gated') && l.state !== 'RUNNING'),
    );
    release(first.jobid);
    release(second.jobid);
    await exited;

    expect({ exit: old.exited, failed: old.logs().includes('worker failed') }).toEqual({ exit: { code: 0, signal: null }, failed: false });
    expect(logLines(old).some((l) => l.msg === 'all workers stopped')).toBe(true);

    // The runs ended before the worker did; a worker is needed again only to record the final status.
    worker = await startWorkerProcess(sys.config);
    for (const [job, input] of [
      [first, 'first'],
      [second, 'second'],
    ] as const) {
      const done = await waitForJob(sys.baseUrl, job.jobid, 120_000);
      expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
      expect(await (await fetch(`${sys.baseUrl}/link/${job.jobid}`)).text()).toBe(input);
      expect(await activityAttempts(sys.env.client, job.jobid)).toEqual([1]);
    }
    expect(await jobContainers(sys.docker, jobs)).toEqual([]);
  });
});
