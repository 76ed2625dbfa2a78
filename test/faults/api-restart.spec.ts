import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { RETENTION_SCHEDULE_ID } from '@menagerie/core';
import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob, type Job } from '../support/http';
import { apiOnFreePort, startApiProcess, type Managed } from '../support/processes';
import { until } from '../support/until';
import { engineJobWorkflows } from '../support/temporal';
import { startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** The API is its own process (apps/api/dist), killed with SIGKILL with jobs queued and an upload in flight. */
describe('API restarted', () => {
  let sys: System;
  let api: Managed;
  let base: string;
  let port: number;

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      { name: 'copy', cmd: ['sh', '-c', 'sleep 1; cp /var/data/input /var/data/result'], workers: 2, sizelimit: 50_000_000 },
      { name: 'sleepy', cmd: ['sh', '-c', 'sleep 120; cp /var/data/input /var/data/result'], timeout: 300 },
    ]);
    sys = await startSystem({ enginesFile, api: false });
    ({ api, port, base } = await apiOnFreePort(sys.config));
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    await sys?.stop();
  });

  /** Starts an upload that declares 10 MB, sends 200 kB of it and then stalls. */
  function stalledUpload(): void {
    const boundary = 'menagerie-stalled-upload';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="cut.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const req = request(`${base}/copy/upload`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + 10_000_000 + tail.length },
    });
    req.on('error', () => undefined); // the API dies under it
    req.write(head);
    req.write(Buffer.alloc(200_000, 7));
  }

  const storeDir = () => join(sys.config.storageDir, 'store');

  it('loses no accepted job, and the cut upload leaves no row, no workflow and, after the sweep, no file', async () => {
    const accepted: Job[] = [];
    for (let i = 0; i < 10; i++) accepted.push(await queueBytes(base, 'copy', `job ${i} accepted before the crash`));
    const ids = accepted.map((j) => j.jobid);

    stalledUpload();
    // An unfinished put is `input.<random>.partial` beside where the input will be.
    const partialOf = (id: string) => readdirSync(join(storeDir(), id)).find((name) => /^input\..+\.partial$/.test(name));
    const cut = await until('the stalled upload to be on disk', async () =>
      readdirSync(storeDir()).find((id) => !ids.includes(id) && existsSync(join(storeDir(), id)) && partialOf(id) !== undefined),
    );
    const partial = partialOf(cut)!;

    await api.stop('SIGKILL');
    // The API is gone, the worker is not: jobs go on being run meanwhile.
    await new Promise((r) => setTimeout(r, 2000));
    await startApiProcess(api, port);

    for (const [i, job] of accepted.entries()) {
      const done = await waitForJob(base, job.jobid, 120_000);
      expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
      expect(await (await fetch(`${base}/link/${job.jobid}`)).text()).toBe(`job ${i} accepted before the crash`);
    }
    const rows: Array<{ id: string }> = await sys.db.query('SELECT id FROM jobs');
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids));
    const workflows = (await engineJobWorkflows(sys.env.client)).map((wf) => wf.workflowId);
    expect(new Set(workflows)).toEqual(new Set(ids.map((id) => `job-${id}`)));

    // What the cut upload left on disk is removed by the retention sweep once it has been untouched for an hour.
    const cutDir = join(storeDir(), cut);
    expect(statSync(join(cutDir, partial)).size).toBeGreaterThan(0);
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const path of [cutDir, join(cutDir, partial)]) utimesSync(path, twoHoursAgo, twoHoursAgo);
    await sys.env.client.schedule.getHandle(RETENTION_SCHEDULE_ID).trigger();
    await until('the sweep to remove the cut upload', async () => !existsSync(cutDir));
    expect(new Set(readdirSync(storeDir()))).toEqual(new Set(ids));
  });

  it('a graceful stop answers the requests waiting on ?wait instead of holding the shutdown', async () => {
    const job = await queueBytes(base, 'sleepy', 'takes two minutes');
    const started = Date.now();
    const waiting = fetch(`${base}/result/${job.jobid}?wait=60`);
    await new Promise((r) => setTimeout(r, 1000));

    await api.stop('SIGTERM', 60_000);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(['queued', 'running']).toContain((await body<Job>(res)).status);
    // Well before the 60 s the client asked to wait.
    expect(Date.now() - started).toBeLessThan(30_000);

    await startApiProcess(api, port);
    expect((await fetch(`${base}/jobs/${job.jobid}`, { method: 'DELETE' })).status).toBeLessThan(300);
  });
});
