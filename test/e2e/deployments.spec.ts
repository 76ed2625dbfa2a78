import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOYMENT_LABEL, JOB_LABEL } from '@menagerie/runtime';
import { jobDirOf } from '../support/stored';
import { writeEnginesFile } from '../support/engines-file';
import { queueBytes, waitForJob } from '../support/http';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

/**
 * Two deployments on one Docker daemon, each with its own database, store and
 * Temporal: one's node sweep must remove its own orphans and never the
 * other's live job, which its database has never heard of.
 */
describe('two deployments on one Docker daemon', () => {
  let a: System;
  let b: System;
  const strays: string[] = [];

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      // Runs until the test puts `release` in its job directory.
      {
        name: 'gated',
        timeout: 120,
        cmd: ['sh', '-c', 'while [ ! -e /var/data/release ]; do sleep 0.1; done; cat /var/data/input > /var/data/result'],
      },
    ]);
    // A's node sweeps its leftovers every 2 s; b's only at boot, within this test.
    [a, b] = await Promise.all([startSystem({ enginesFile, settings: { node: { sweepSeconds: 2 } } }), startSystem({ enginesFile })]);
  });
  afterAll(async () => {
    for (const id of strays) execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    await a?.stop();
    await b?.stop();
  });

  /** A container that looks like what a crashed worker of `sys` left behind: a job its database doesn't know. */
  function orphanOf(sys: System): string {
    const id = execFileSync('docker', [
      'run',
      '-d',
      '--network',
      'none',
      '--label',
      `${JOB_LABEL}=${randomUUID()}`,
      '--label',
      `${DEPLOYMENT_LABEL}=${sys.deployment}`,
      'menagerie/filemeta:stable',
      'sleep',
      '600',
    ])
      .toString()
      .trim();
    strays.push(id);
    return id;
  }
  const exists = (id: string) =>
    execFileSync('docker', ['ps', '-aq', '--filter', `id=${id}`])
      .toString()
      .trim() !== '';

  it('labels containers with their deployment, and sweeps only its own', async () => {
    expect(a.deployment).not.toBe(b.deployment);
    const job = await queueBytes(b.baseUrl, 'gated', 'belongs to b');
    const [running] = await until("b's engine container running", async () => {
      const found = (await jobContainers(b.docker, [job.jobid])).filter((c) => c.State === 'running');
      return found.length ? found : undefined;
    });
    expect(running.Labels[DEPLOYMENT_LABEL]).toBe(b.deployment);
    const ownOrphan = orphanOf(a);

    // A's sweep runs; its own orphan going shows it ran.
    await until("a's orphan removed by a's sweep", async () => !exists(ownOrphan));

    expect(exists(running.Id)).toBe(true);
    writeFileSync(join(jobDirOf(b.config, job.jobid), 'release'), '');
    const done = await waitForJob(b.baseUrl, job.jobid, 120_000);
    expect({ status: done.status, exitCode: done.exitCode, error: done.error }).toEqual({ status: 'completed', exitCode: 0, error: null });
    expect(await (await fetch(`${b.baseUrl}/link/${job.jobid}`)).text()).toBe('belongs to b');
  });

  it("never removes another deployment's orphan either", async () => {
    const othersOrphan = orphanOf(b);
    const ownOrphan = orphanOf(a);
    await until("a's orphan removed by a's sweep", async () => !exists(ownOrphan));
    // b's sweep is b's business: a left it alone.
    expect(exists(othersOrphan)).toBe(true);
    expect((await jobContainers(a.docker, { deployment: b.deployment })).map((c) => c.Id)).toContain(othersOrphan);
  });
});
