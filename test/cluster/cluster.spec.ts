import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { openAsBlob, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workflowIdFor } from '@menagerie/core';
import { readTarGz } from '../support/archive';
import { TestCluster } from '../support/cluster';
import { sampleEngine } from '../support/sample-engines';
import { FIXTURES } from '../support/env';
import { body, getJob, queueBytes, uploadBytes, uploadFile, waitForJob, type Job } from '../support/http';
import { engineJobWorkflows } from '../support/temporal';
import { sleep, until } from '../support/until';

jest.setTimeout(600_000);

/*
 * The scale-out issue's tests, on a real cluster of scripts/cluster.sh:
 * HAProxy in front of two API replicas, worker nodes node-a and node-b, the
 * S3 store (SeaweedFS, reached through a relay this process can cut), as a
 * deployment of its own. One cluster for the whole file: it takes a while to
 * start. The node-loss test kills node-a, so it comes last.
 */

/** Sleeps the seconds its input starts with, then answers the input's sha256. */
const SLOW = [
  'sh',
  '-c',
  'in="$MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT"; s=$(head -c 2 "$in" | tr -dc 0-9); s=${s#0}; sleep "${s:-1}"; ' +
    'printf \'{"slept":%s,"sha256":"%s"}\' "${s:-1}" "$(sha256sum < "$in" | cut -d" " -f1)" > "$MENAGERIE_MOUNTPOINT/result"',
];

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
/** An input the slow engine sleeps on for `seconds`; unique, so its sha256 names it. */
const slowInput = (seconds: number) => `${String(seconds).padStart(2, '0')} ${randomUUID()}`;

describe('a cluster of two API replicas and two worker nodes behind HAProxy, on S3', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start({
      engines: [
        sampleEngine('filemeta', { workers: 2 }),
        sampleEngine('apktool', { workers: 1 }),
        { name: 'slow', cmd: SLOW, workers: 3, runflags: ['--memory', '64m', '--cpus', '0.25', '--pids-limit', '16'], timeout: 120 },
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await c?.destroy();
  }, 300_000);

  async function link(job: Job): Promise<Buffer> {
    const res = await fetch(`${c.url}/link/${job.jobid}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  async function expectSlowResult(job: Job, input: string): Promise<void> {
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(JSON.parse((await link(job)).toString())).toEqual({ slept: Number(input.slice(0, 2)), sha256: sha256(input) });
  }

  /** How many times the job's runJob activity completed (retries of a failed attempt don't). */
  async function runJobCompletions(jobId: string): Promise<{ completed: number; lastAttempt: number }> {
    const history = await c.temporal.workflow.getHandle(workflowIdFor(jobId)).fetchHistory();
    const events = history.events ?? [];
    const runJob = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runJob').map((e) => String(e.eventId)),
    );
    const completed = events.filter((e) => runJob.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId))).length;
    const started = events.filter((e) => runJob.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)));
    return { completed, lastAttempt: Math.max(0, ...started.map((e) => e.activityTaskStartedEventAttributes!.attempt!)) };
  }

  it('spreads 20 jobs of both engines over both nodes, with the right result bytes for each', async () => {
    const apk = join(FIXTURES, 'sample.apk');
    const apkSha = sha256(readFileSync(apk));
    const notes = Array.from({ length: 15 }, (_, i) => `MZ note ${i}\nmenagerie-spread-marker-${i}-${randomUUID()}\n`);
    const queued = await Promise.all([
      ...notes.map(async (note, i) => ({
        engine: 'filemeta',
        note,
        job: await body<Job>(await uploadBytes(c.url, 'filemeta', note, `note-${i}.txt`)),
      })),
      // The same APK five times: forced, so each runs (the cache would answer all but the first).
      ...Array.from({ length: 5 }, async () => {
        const form = new FormData();
        form.append('upload', await openAsBlob(apk), 'sample.apk');
        return {
          engine: 'apktool',
          note: null,
          job: await body<Job>(await fetch(`${c.url}/apktool/upload?force=true`, { method: 'POST', body: form })),
        };
      }),
    ]);
    for (const q of queued) expect(q.job.status).toBe('queued');

    const done = await Promise.all(queued.map(async (q) => ({ ...q, job: await waitForJob(c.url, q.job.jobid, 240_000) })));
    for (const { engine, note, job } of done) {
      expect(job).toMatchObject({ engine, status: 'completed', exitCode: 0, error: null });
      expect(['node-a', 'node-b']).toContain(job.node);
      if (engine === 'filemeta') {
        expect(job.result?.name).toMatch(/^note-\d+\.filemeta\.json$/);
        const result = JSON.parse((await link(job)).toString());
        expect(result).toMatchObject({ engine: 'filemeta', sha256: sha256(note!), size: Buffer.byteLength(note!) });
        expect(result.strings.join('\n')).toContain(note!.split('\n')[1]);
      } else {
        expect(job.input.sha256).toBe(apkSha);
        expect(job.result?.name).toBe('sample.apktool.tar.gz');
        const tree = await readTarGz(await link(job));
        expect([...tree.keys()]).toEqual(
          expect.arrayContaining([
            'AndroidManifest.xml',
            'apktool.yml',
            'smali/org/menagerie/sample/MainActivity.smali',
            'smali/org/menagerie/sample/Greeter.smali',
          ]),
        );
        expect(tree.get('AndroidManifest.xml')!.toString()).toContain('package="org.menagerie.sample"');
      }
    }
    const perNode = done.reduce<Record<string, number>>((n, { job }) => ({ ...n, [job.node!]: (n[job.node!] ?? 0) + 1 }), {});
    expect(Object.keys(perNode).sort()).toEqual(['node-a', 'node-b']);

    // /jobs, from whichever replica answers, records the same node as /result.
    const list = await body<{ items: Job[] }>(await fetch(`${c.url}/jobs?limit=100`));
    for (const { job } of done) expect(list.items.find((j) => j.jobid === job.jobid)?.node).toBe(job.node);

    // Without force, the same APK is answered from the cache by whichever replica takes it: no node, the same bytes (an S3 copy).
    const hit = await body<Job>(await uploadFile(c.url, 'apktool', apk));
    expect(hit).toMatchObject({ status: 'completed', cached: true, node: null });
    const original = done.find(({ job }) => job.jobid === hit.cachedFrom)!.job;
    expect((await link(hit)).equals(await link(original))).toBe(true);
  });

  describe('S3 outage', () => {
    afterEach(async () => {
      await c.relay.up();
    });

    it('refuses an upload with a JSON 503 naming storage, leaving no row, no workflow and no object', async () => {
      const rows = await c.query('SELECT id FROM jobs ORDER BY id');
      const workflows = (await engineJobWorkflows(c.temporal)).length;
      const total = (await body(await fetch(`${c.url}/jobs?limit=1`))).total;
      const stored = await c.bucketContents();

      await c.relay.down();
      const res = await uploadBytes(c.url, 'filemeta', `refused while S3 is down ${randomUUID()}`, 'refused.txt');
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const answer = await body(res);
      expect(answer.error).toBe('STORAGE_UNAVAILABLE');
      expect(answer.message).toMatch(/S3 storage/);
      await c.relay.up();

      expect(await c.query('SELECT id FROM jobs ORDER BY id')).toEqual(rows);
      expect((await engineJobWorkflows(c.temporal)).length).toBe(workflows);
      expect((await body(await fetch(`${c.url}/jobs?limit=1`))).total).toBe(total);
      expect(await c.bucketContents()).toEqual(stored);
    });

    it('names the store in /health through HAProxy while S3 is down, and is ok once it is back', async () => {
      await c.relay.down();
      const down = await fetch(`${c.url}/health`);
      expect(down.status).toBe(503);
      const degraded = await body(down);
      expect(degraded).toMatchObject({
        status: 'degraded',
        checks: { database: { ok: true }, temporal: { ok: true }, storage: { ok: false } },
      });
      expect(degraded.checks.storage.error).toMatch(/S3 storage/);

      await c.relay.up();
      const ok = await until('/health ok again', async () => {
        const res = await fetch(`${c.url}/health`);
        return res.status === 200 && (await body(res));
      });
      expect(ok).toMatchObject({ status: 'ok', checks: { storage: { ok: true } } });
    });

    it('holds a job that is running when S3 goes away, and completes it once S3 is back', async () => {
      const input = slowInput(4);
      const queued = await queueBytes(c.url, 'slow', input, 'mid-job.txt');
      // Running: the node has fetched the input, and will need the store again for the log and result.
      const running = await waitForJob(c.url, queued.jobid, 60_000, (j) => j.status !== 'queued');
      expect(running.status).toBe('running');
      const node = running.node!;
      const offset = c.logOffset(node);

      await c.relay.down();
      const downAt = Date.now();
      await until(`${node} waiting for the store`, async () => c.logSince(node, offset).includes('the store is unavailable'), 60_000);
      // The outage lasts a while after that (its length is the fault, not a condition to wait for).
      await sleep(Math.max(0, 12_000 - (Date.now() - downAt)));
      expect((await getJob(c.url, queued.jobid)).status).toBe('running');
      await c.relay.up();

      const job = await waitForJob(c.url, queued.jobid, 120_000);
      await expectSlowResult(job, input);
      expect((await runJobCompletions(job.jobid)).completed).toBe(1);
    });
  });

  it('answers a client whose ?wait replica is killed, through HAProxy', async () => {
    const input = slowInput(10);
    const queued = await queueBytes(c.url, 'slow', input, 'wait.txt');

    let clientPort = 0;
    const waited = new Promise<{ status: number; job: Job | null }>((resolve) => {
      const req = request(`${c.url}/result/${queued.jobid}?wait=60`, { agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, job: res.statusCode === 200 ? (JSON.parse(text) as Job) : null }));
        res.on('error', () => resolve({ status: 0, job: null }));
      });
      req.on('socket', (s) => s.on('connect', () => (clientPort = s.localPort!)));
      req.on('error', () => resolve({ status: 0, job: null }));
      req.end();
    });
    const replica = await until(
      'HAProxy session of the waiting client',
      async () => (clientPort ? c.replicaServing(clientPort) : null),
      10_000,
      50,
    );
    expect((await getJob(c.url, queued.jobid)).finishedAt).toBeNull();
    await c.kill(replica);
    const killedAt = Date.now();

    const first = await waited;
    // HAProxy replays a GET whose replica died on the other one; if it ever did not, the client's retry must answer.
    const answer = first.status === 200 ? first.job! : await body<Job>(await fetch(`${c.url}/result/${queued.jobid}?wait=60`));
    expect(answer.status).toBe('completed');
    expect(new Date(answer.finishedAt!).getTime()).toBeGreaterThan(killedAt - 1000);
    await expectSlowResult(answer, input);

    await c.up(); // the replica back, for what follows
  });

  it('completes every job of a node that died, on the other node, once, leaving no container', async () => {
    const inputs = Array.from({ length: 6 }, () => slowInput(8));
    const jobs = await Promise.all(inputs.map((input, i) => queueBytes(c.url, 'slow', input, `loss-${i}.txt`)));
    const ids = jobs.map((j) => j.jobid);

    // node-a runs some of them: their containers are up.
    const onA = await until(
      'node-a running jobs',
      async () => {
        const running = (await c.containers('node-a')).filter((x) => x.State === 'running' && ids.includes(x.Labels['menagerie.job']));
        return running.length > 0 && running;
      },
      60_000,
      100,
    );
    expect(onA.length).toBeGreaterThan(0);

    // A machine that dies takes its process and its containers with it.
    await c.kill('node-a');
    const removed = await c.removeContainers('node-a');
    expect(removed.length).toBeGreaterThan(0);

    const done = await Promise.all(ids.map((id) => waitForJob(c.url, id, 180_000)));
    for (const [i, job] of done.entries()) {
      expect(job.node).toBe('node-b');
      await expectSlowResult(job, inputs[i]);
      const runs = await runJobCompletions(job.jobid);
      expect(runs.completed).toBe(1);
      // The jobs node-a had are a retry's.
      if (removed.includes(job.jobid)) expect(runs.lastAttempt).toBeGreaterThan(1);
    }
    expect(await c.containersOf(ids)).toEqual([]);
  });
});
