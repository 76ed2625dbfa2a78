import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import { RETENTION_SCHEDULE_ID, workflowIdFor } from '@menagerie/core';
import { DEPLOYMENT_LABEL, JOB_LABEL } from '@menagerie/runtime';
import { writeEnginesFile, type TestEngine } from '../support/engines-file';
import { body, getJob, uploadBytes, waitForJob, type Job } from '../support/http';
import { activityAttempts } from '../support/temporal';
import { storedOf } from '../support/stored';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

const WRITE_RESULT = ['sh', '-c', 'echo "{\\"ok\\": true}" > "$MENAGERIE_MOUNTPOINT/result"'];
const MOVING = 'menagerie/test-moving';
/** A value configured with -e, as a secret would be: it must reach the container and nothing else. */
const SECRET = `s3cret-${randomUUID()}`;
const WRITE_SECRET = ['sh', '-c', 'printf "%s" "$MENAGERIE_TEST_SECRET" > "$MENAGERIE_MOUNTPOINT/result"'];

/** Everything in a workflow history as text, payloads (bytes) decoded. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return String(value);
}

/** Builds a distinct local image (a new id) from the filemeta image. */
function buildVariant(ref: string, marker: string): string {
  execFileSync('docker', ['build', '-q', '-t', ref, '-'], {
    input: `FROM menagerie/filemeta:stable\nLABEL org.menagerie.test-variant=${marker}\n`,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
  return execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', ref]).toString().trim();
}

/** Engine version management and retention, without restarts. */
describe('engines and retention', () => {
  let sys: System;
  let enginesFile: string;
  let v1: string;
  let v2: string;

  function rewrite(engines: TestEngine[]): void {
    // Same path, new content: what an operator's editor does.
    writeFileSync(enginesFile, readFileSync(writeEnginesFile(engines)));
  }

  beforeAll(async () => {
    v1 = buildVariant(`${MOVING}:one`, 'one');
    v2 = buildVariant(`${MOVING}:two`, 'two');
    execFileSync('docker', ['tag', `${MOVING}:one`, `${MOVING}:latest`]);
    execFileSync('docker', ['tag', `${MOVING}:one`, `${MOVING}:vanishing`]);
    enginesFile = writeEnginesFile([
      { name: 'alpha', cmd: WRITE_RESULT },
      { name: 'moving', cmd: WRITE_RESULT, image: `${MOVING}:latest` },
      { name: 'ghost', cmd: WRITE_RESULT, image: 'menagerie/does-not-exist:1' },
      { name: 'vanishing', cmd: WRITE_RESULT, image: `${MOVING}:vanishing` },
      { name: 'secretive', cmd: WRITE_SECRET, runflags: ['-e', `MENAGERIE_TEST_SECRET=${SECRET}`, '--env=OTHER=x'] },
    ]);
    // The node reports what it serves at boot and on each reload, and on no timer here: what it
    // serves stays as the test left it. It sweeps its leftovers every 2 s.
    sys = await startSystem({ enginesFile, settings: { node: { reportSeconds: 3600, sweepSeconds: 2 } } });
  });
  afterAll(async () => {
    await sys?.stop();
    execFileSync('docker', ['image', 'rm', '-f', `${MOVING}:one`, `${MOVING}:two`, `${MOVING}:latest`, `${MOVING}:vanishing`]);
  });

  let runs = 0;
  /** Each run's bytes differ: what runs here is the engine, never the result cache. */
  async function run(engine: string): Promise<Job> {
    const res = await uploadBytes(sys.baseUrl, engine, `payload ${runs++}`, 'in.bin');
    expect(res.status).toBe(201);
    return waitForJob(sys.baseUrl, (await body<Job>(res)).jobid, 60_000);
  }

  it('records the image and the digest each job ran with; a moved tag is used by the next job', async () => {
    const first = await run('moving');
    expect(first).toMatchObject({ status: 'completed', image: `${MOVING}:latest`, imageDigest: v1 });
    execFileSync('docker', ['tag', `${MOVING}:two`, `${MOVING}:latest`]);
    const second = await run('moving');
    expect(second).toMatchObject({ status: 'completed', image: `${MOVING}:latest`, imageDigest: v2 });
    const listed = await body(await fetch(`${sys.baseUrl}/jobs?engine=moving`));
    expect(listed.items.map((j: Job) => j.imageDigest)).toEqual([v2, v1]);
  });

  it('refuses an upload for an engine whose image no node has, leaving nothing, and shows it unavailable', async () => {
    const before = Number((await sys.db.query('SELECT count(*)::int AS n FROM jobs'))[0].n);
    const res = await uploadBytes(sys.baseUrl, 'ghost', 'nobody can run this');
    expect(res.status).toBe(503);
    expect(await body(res)).toEqual({
      error: 'ENGINE_UNAVAILABLE',
      message: 'engine ghost cannot run on any worker node now: image not found: menagerie/does-not-exist:1',
      engine: 'ghost',
    });
    expect(Number((await sys.db.query('SELECT count(*)::int AS n FROM jobs'))[0].n)).toBe(before);
    const { engines } = await body(await fetch(`${sys.baseUrl}/engines`));
    expect(engines.find((e: { name: string }) => e.name === 'ghost')).toMatchObject({
      available: false,
      unavailableReason: 'image not found: menagerie/does-not-exist:1',
      nodes: [],
    });
    // An engine a node runs names the node and the digest its image resolves to there.
    expect(engines.find((e: { name: string }) => e.name === 'moving')).toMatchObject({
      available: true,
      nodes: [{ name: sys.config.node.name, digest: expect.stringMatching(/^sha256:/), lastSeenAt: expect.any(String) }],
    });
  });

  it('fails a job whose image went missing after its upload once, without retries', async () => {
    // The node last reported the image (and serves the engine); it is gone by the time the job runs.
    execFileSync('docker', ['image', 'rm', `${MOVING}:vanishing`]);
    const res = await uploadBytes(sys.baseUrl, 'vanishing', 'here today');
    expect(res.status).toBe(201);
    const id = (await body<Job>(res)).jobid;
    const job = await waitForJob(sys.baseUrl, id, 60_000);
    expect(job).toMatchObject({ status: 'failed', error: `image not found: ${MOVING}:vanishing` });
    const attempts = await activityAttempts(sys.env.client, job.jobid);
    expect(attempts.every((a) => a === 1)).toBe(true);
  });

  it('shows environment names, never values: not in GET /engines, not in the workflow history; the engine still gets them', async () => {
    const res = await fetch(`${sys.baseUrl}/engines`);
    const text = await res.text();
    expect(text).not.toContain(SECRET);
    const engine = (JSON.parse(text) as { engines: { name: string; env: string[]; runflags: string[] }[] }).engines.find(
      (e) => e.name === 'secretive',
    );
    expect(engine).toMatchObject({ env: ['MENAGERIE_TEST_SECRET', 'OTHER'], runflags: ['-e', 'MENAGERIE_TEST_SECRET', '--env=OTHER'] });

    const job = await run('secretive');
    expect(job.status).toBe('completed');
    expect(await (await fetch(`${sys.baseUrl}/link/${job.jobid}`)).text()).toBe(SECRET);
    const history = historyText(await sys.env.client.workflow.getHandle(workflowIdFor(job.jobid)).fetchHistory());
    // The input is there, with the name (so the text is decoded), but not the value.
    expect(history).toContain('MENAGERIE_TEST_SECRET');
    expect(history).not.toContain(SECRET);
  });

  it('applies engines.json changes without a restart', async () => {
    expect((await uploadBytes(sys.baseUrl, 'beta', 'x')).status).toBe(404);
    rewrite([
      { name: 'beta', cmd: WRITE_RESULT, image: `${MOVING}:one` },
      { name: 'moving', cmd: WRITE_RESULT, image: `${MOVING}:two` },
    ]);
    // A new engine gets its queues and workers.
    await until('beta to be accepted', async () => {
      const res = await uploadBytes(sys.baseUrl, 'beta', 'x');
      return res.status === 201 ? body<Job>(res) : undefined;
    }).then((job) => waitForJob(sys.baseUrl, job.jobid, 60_000).then((j) => expect(j.status).toBe('completed')));
    // A removed engine takes no new jobs.
    const gone = await uploadBytes(sys.baseUrl, 'alpha', 'x');
    expect(gone.status).toBe(404);
    // A changed image is used by the next job.
    const moved = await run('moving');
    expect(moved).toMatchObject({ image: `${MOVING}:two`, imageDigest: v2 });
  });

  it('keeps running with the last good engines when engines.json turns invalid', async () => {
    writeFileSync(enginesFile, '{"engines": [ {"name": "broken"');
    await new Promise((r) => setTimeout(r, 2500));
    expect((await run('beta')).status).toBe('completed');
  });

  it("retention removes old files and keeps the rows marked expired; the node's sweep removes orphaned containers", async () => {
    const old = await run('beta');
    const recent = await run('beta');
    await sys.db.query(`UPDATE jobs SET finished_at = now() - interval '40 days' WHERE id = $1`, [old.jobid]);
    const orphanJob = randomUUID();
    const orphan = execFileSync('docker', [
      'run',
      '-d',
      '--label',
      `${JOB_LABEL}=${orphanJob}`,
      '--label',
      `${DEPLOYMENT_LABEL}=${sys.deployment}`,
      '--network',
      'none',
      'menagerie/filemeta:stable',
      'sleep',
      '600',
    ])
      .toString()
      .trim();

    await sys.env.client.schedule.getHandle(RETENTION_SCHEDULE_ID).trigger();
    const expired = await until('the old job to expire', async () => {
      const job = await getJob(sys.baseUrl, old.jobid);
      return job.expiredAt ? job : undefined;
    });
    expect(expired).toMatchObject({ status: 'completed', result: null, resultUrl: null });
    expect(await storedOf(sys.config).names(old.jobid)).toEqual([]);
    const link = await fetch(`${sys.baseUrl}/link/${old.jobid}`);
    expect(link.status).toBe(410);
    expect((await body(link)).message).toMatch(/removed by retention/);

    const kept = await getJob(sys.baseUrl, recent.jobid);
    expect(kept.expiredAt).toBeNull();
    expect((await fetch(`${sys.baseUrl}/link/${recent.jobid}`)).status).toBe(200);

    // Unlabelled by node, as a worker from before nodes made it: this node's to sweep.
    await until('the orphaned container to go', async () =>
      (await jobContainers(sys.docker, [orphanJob])).length === 0 ? true : undefined,
    );
    expect(
      execFileSync('docker', ['ps', '-aq', '--filter', `id=${orphan}`])
        .toString()
        .trim(),
    ).toBe('');
  });
});
