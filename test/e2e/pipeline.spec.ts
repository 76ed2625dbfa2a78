import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTarGz } from '../support/archive';
import { FIXTURES } from '../support/env';
import { writeShippedEnginesFile } from '../support/engines-file';
import { body, getJob, uploadBytes, uploadFile, waitForJob, type Job } from '../support/http';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(600_000);

/**
 * The original curl flow, end to end: HTTP → PostgreSQL → Temporal →
 * worker → Docker → stored result, for both sample engines.
 */
describe('core pipeline', () => {
  let sys: System;
  const jobIds: string[] = [];

  beforeAll(async () => {
    // The two sample engines as shipped; the catalogue runs in test/e2e/catalogue.spec.ts.
    sys = await startSystem({ uiPort: 18233, enginesFile: writeShippedEnginesFile('menagerie-pipeline-', []) });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  async function submit(engine: string, send: () => Promise<Response>): Promise<Job> {
    const res = await send();
    expect(res.status).toBe(201);
    const job = await body<Job>(res);
    expect(job.engine).toBe(engine);
    jobIds.push(job.jobid);
    return job;
  }

  it('runs the fast engine: upload → result → link', async () => {
    const content = `MZ fake header\n${'menagerie-marker-string'}\nshort\n`;
    const queued = await submit('filemeta', () => uploadBytes(sys.baseUrl, 'filemeta', content, 'note.txt'));
    expect(queued.jobid).toMatch(/^[0-9a-f-]{36}$/);
    expect(queued.status).toBe('queued');
    // The type is detected from the bytes, never taken from the name: "MZ" opens a DOS executable.
    expect(queued.input).toEqual({
      name: 'note.txt',
      size: Buffer.byteLength(content),
      sha256: createHash('sha256').update(content).digest('hex'),
      mime: 'application/x-msdownload',
    });

    const job = await waitForJob(sys.baseUrl, queued.jobid, 60_000);
    expect(job).toMatchObject({ status: 'completed', exitCode: 0, error: null, image: 'menagerie/filemeta:stable' });
    expect(job.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(new Date(job.startedAt!).getTime()).toBeGreaterThanOrEqual(new Date(job.createdAt).getTime());
    expect(new Date(job.finishedAt!).getTime()).toBeGreaterThanOrEqual(new Date(job.startedAt!).getTime());
    expect(job.resultUrl).toBe(`${sys.baseUrl}/link/${job.jobid}`);
    expect(job.result).toMatchObject({ name: 'note.filemeta.json', mime: 'application/json' });

    const link = await fetch(job.resultUrl!);
    expect(link.status).toBe(200);
    expect(link.headers.get('content-disposition')).toContain('filename="note.filemeta.json"');
    const result = JSON.parse(await link.text());
    expect(result.sha256).toBe(job.input.sha256);
    expect(result.size).toBe(job.input.size);
    expect(result.strings).toContain('menagerie-marker-string');
    expect(result.strings).not.toContain('short');
  });

  it('runs apktool on a real APK and returns the decoded tree', async () => {
    const apk = join(FIXTURES, 'sample.apk');
    const queued = await submit('apktool', () => uploadFile(sys.baseUrl, 'apktool', apk));
    expect(queued.input.sha256).toBe(createHash('sha256').update(readFileSync(apk)).digest('hex'));

    const job = await waitForJob(sys.baseUrl, queued.jobid, 240_000);
    expect(job.status).toBe('completed');
    expect(job.result?.name).toBe('sample.apktool.tar.gz');

    const link = await fetch(`${sys.baseUrl}/link/${job.jobid}`);
    expect(link.status).toBe(200);
    const tree = await readTarGz(Buffer.from(await link.arrayBuffer()));
    expect([...tree.keys()]).toEqual(
      expect.arrayContaining([
        'AndroidManifest.xml',
        'apktool.yml',
        'smali/org/menagerie/sample/MainActivity.smali',
        'smali/org/menagerie/sample/Greeter.smali',
      ]),
    );
    expect(tree.get('AndroidManifest.xml')!.toString()).toContain('package="org.menagerie.sample"');
    expect(tree.get('smali/org/menagerie/sample/Greeter.smali')!.toString()).toMatch(
      /^\.class public .*Lorg\/menagerie\/sample\/Greeter;/m,
    );
  });

  it('answers /link with 404 and a message while there is no result', async () => {
    const queued = await submit('filemeta', () => uploadBytes(sys.baseUrl, 'filemeta', 'abc', 'a.bin'));
    const early = await fetch(`${sys.baseUrl}/link/${queued.jobid}`);
    if (early.status !== 200) {
      expect(early.status).toBe(404);
      const answer = await body(early);
      expect(answer.error).toBe('RESULT_NOT_READY');
      expect(answer.message).toMatch(/still (queued|running)/);
    }
    await waitForJob(sys.baseUrl, queued.jobid, 60_000);
  });

  it('shows the job in the Temporal Web UI at the URL /result gives', async () => {
    const job = await getJob(sys.baseUrl, jobIds[0]);
    expect(job.temporalUrl).toMatch(new RegExp(`^${sys.uiUrl}/namespaces/default/workflows/job-${job.jobid}/[0-9a-f-]+/history$`));
    const page = await fetch(job.temporalUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    // The UI's own API, which the page calls, knows the workflow and its search attributes.
    const runId = job.temporalUrl!.split('/').at(-2);
    const api = await fetch(`${sys.uiUrl}/api/v1/namespaces/default/workflows/job-${job.jobid}?execution.runId=${runId}`);
    expect(api.status).toBe(200);
    const described = JSON.stringify(await body(api));
    expect(described).toContain(`job-${job.jobid}`);
    expect(described).toContain('MenagerieSha256');
  });

  it('finds jobs by engine and sha256 through Temporal visibility', async () => {
    const job = await getJob(sys.baseUrl, jobIds[0]);
    const found: string[] = [];
    for await (const wf of sys.env.client.workflow.list({
      query: `MenagerieEngine = 'filemeta' AND MenagerieSha256 = '${job.input.sha256}'`,
    })) {
      found.push(wf.workflowId);
    }
    expect(found).toEqual([`job-${job.jobid}`]);
  });

  it('lists the history newest first, paginated and filtered', async () => {
    const page1 = await body(await fetch(`${sys.baseUrl}/jobs?limit=2&page=1`));
    expect(page1.total).toBe(jobIds.length);
    expect(page1.items).toHaveLength(2);
    expect(page1.items[0].jobid).toBe(jobIds[jobIds.length - 1]);
    const all = await body(await fetch(`${sys.baseUrl}/jobs?limit=100`));
    const created = all.items.map((j: Job) => j.createdAt);
    expect([...created].sort().reverse()).toEqual(created);

    const apk = await body(await fetch(`${sys.baseUrl}/jobs?engine=apktool&status=completed`));
    expect(apk.items.map((j: Job) => j.jobid)).toEqual([jobIds[1]]);
    const bad = await fetch(`${sys.baseUrl}/jobs?status=exploded`);
    expect(bad.status).toBe(400);
    expect((await body(bad)).message).toMatch(/status must be one of/);
  });

  it('lists the engines with image, digest, workers and availability', async () => {
    const { engines } = await body(await fetch(`${sys.baseUrl}/engines`));
    const apktool = engines.find((e: { name: string }) => e.name === 'apktool');
    expect(apktool).toMatchObject({ image: 'menagerie/apktool:stable', workers: 2, available: true, jobs: { queued: 0, running: 0 } });
    expect(apktool.imageDigest).toMatch(/^sha256:/);
  });

  it('reports healthy database, Temporal and store', async () => {
    const res = await fetch(`${sys.baseUrl}/health`);
    expect(res.status).toBe(200);
    const answer = await body(res);
    expect(answer.checks.database.ok && answer.checks.temporal.ok && answer.checks.storage.ok).toBe(true);
    expect(answer.checks.docker).toBeUndefined();
  });

  it('leaves no job container behind', async () => {
    expect(await jobContainers(sys.docker, jobIds)).toEqual([]);
  });
});
