import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, uploadBytes, waitForJob } from '../support/http';
import { scratchDir } from '../support/fault-services';
import { jobDirOf } from '../support/stored';
import { engineJobWorkflows } from '../support/temporal';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

const MB = 1024 * 1024;

/** The store is a 6 MB tmpfs. */
describe('store disk full', () => {
  const mount = scratchDir('full');
  let sys: System;

  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0755', 'tmpfs', mount]);
    const enginesFile = writeEnginesFile([
      { name: 'copy', cmd: ['cp', '/var/data/input', '/var/data/result'], sizelimit: 50 * MB },
      // Its 4 MB result fits the job directory, but not a second time in the store.
      { name: 'bulky', cmd: ['sh', '-c', 'head -c 4194304 /dev/zero > /var/data/result'] },
    ]);
    // No spare job directories: their metadata would take the room this test measures out.
    sys = await startSystem({ enginesFile, settings: { storage: { dir: mount, spareJobDirs: 0 } } });
  });
  afterAll(async () => {
    try {
      await sys?.stop();
    } finally {
      execFileSync('umount', ['-l', mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });

  const stored = () => readdirSync(join(mount, 'store'));
  const rows = async () => (await sys.db.query('SELECT id, status FROM jobs')) as Array<{ id: string; status: string }>;

  it('answers 507 to an upload that does not fit, and keeps nothing of it', async () => {
    const res = await uploadBytes(sys.baseUrl, 'copy', Buffer.alloc(10 * MB, 1), 'too-big-for-the-disk.bin');
    expect(res.status).toBe(507);
    // Most of the body was never read: the socket is closed rather than reused with bytes in flight.
    expect(res.headers.get('connection')).toBe('close');
    const error = await body(res);
    expect(error.error).toBe('STORAGE_FULL');
    expect(error.message).toMatch(/out of space/);
    expect(stored()).toEqual([]);
    expect(await rows()).toEqual([]);
    expect(await engineJobWorkflows(sys.env.client)).toHaveLength(0);

    // The space came back with the discarded upload: a small one goes through.
    const job = await queueBytes(sys.baseUrl, 'copy', 'fits');
    expect((await waitForJob(sys.baseUrl, job.jobid, 60_000)).status).toBe('completed');
    expect(await (await fetch(`${sys.baseUrl}/link/${job.jobid}`)).text()).toBe('fits');
  });

  it('fails a job whose result does not fit, with a clear reason and no half-stored result', async () => {
    const job = await queueBytes(sys.baseUrl, 'bulky', 'anything');
    const done = await waitForJob(sys.baseUrl, job.jobid, 120_000);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/the file store at .* is out of space/);
    expect(done.result).toBeNull();
    expect(readdirSync(join(mount, 'store', job.jobid)).sort()).toEqual(['engine.log', 'input']);
    // The job directory goes right after the final status is recorded (cleanup never holds the status back).
    await until('the job directory removed', async () => !existsSync(jobDirOf(sys.config, job.jobid)), 30_000);
    expect((await fetch(`${sys.baseUrl}/link/${job.jobid}`)).status).toBe(404);
    expect(await jobContainers(sys.docker, [job.jobid])).toEqual([]);
  });
});
