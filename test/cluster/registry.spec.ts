import { randomUUID } from 'node:crypto';
import { workflowIdFor } from '@menagerie/core';
import { TestCluster } from '../support/cluster';
import { body, uploadBytes, waitForJob, type Job } from '../support/http';
import { TestRegistry } from '../support/registry';
import { until } from '../support/until';

jest.setTimeout(600_000);

/*
 * The registry issue's tests: a private registry of scripts/registry.sh (TLS
 * with its own CA, htpasswd), and a cluster whose nodes pull from it. node-b
 * has a Docker daemon of its own, node-a the host's; the images exist only in
 * the registry when the cluster starts, so each node pulls at its first job.
 */

/** An engine that answers which version of its image ran. */
const VERSION_CMD = ['sh', '-c', 'cat /engine-version > /var/data/result'];
const versionImage = (version: number) => [`RUN echo ${version} > /engine-version`, `LABEL org.menagerie.test-version=${version}`];

describe('engines from a private registry, on a cluster whose node-b has a Docker daemon of its own', () => {
  let registry: TestRegistry;
  let c: TestCluster;
  /** The registry digests of the versions pushed under versioned:stable. */
  let v1 = '';
  let v2 = '';

  beforeAll(async () => {
    registry = await TestRegistry.up();
    v1 = await registry.publish('mtest/versioned:stable', 'menagerie/filemeta:stable', versionImage(1));
    await registry.publish('mtest/late:stable', 'menagerie/filemeta:stable', versionImage(7));
    const image = (name: string) => `${registry.address}/mtest/${name}`;
    c = await TestCluster.start({
      engines: [
        { name: 'versioned', image: image('versioned:stable'), cmd: VERSION_CMD, workers: 2 },
        { name: 'pinned', image: image(`versioned@${v1}`), cmd: VERSION_CMD, workers: 1 },
        { name: 'late', image: image('late:stable'), cmd: VERSION_CMD, workers: 1 },
        { name: 'unknown', image: image('nosuch:stable'), cmd: VERSION_CMD, workers: 1 },
      ],
      ownDockerd: ['node-b'],
      env: registry.workerEnv,
    });
  }, 400_000);

  afterAll(async () => {
    await c?.destroy();
    await registry?.purge();
  }, 300_000);

  async function run(engine: string): Promise<Job> {
    const res = await uploadBytes(c.url, engine, `input ${randomUUID()}`);
    expect(res.status).toBe(201);
    return waitForJob(c.url, (await body<Job>(res)).jobid, 180_000);
  }

  async function resultOf(job: Job): Promise<string> {
    const res = await fetch(`${c.url}/link/${job.jobid}`);
    expect(res.status).toBe(200);
    return (await res.text()).trim();
  }

  interface EngineView {
    name: string;
    available: boolean;
    unavailableReason: string | null;
    nodes: Array<{ name: string; digest: string | null }>;
  }
  async function engine(name: string): Promise<EngineView> {
    const { engines } = await body<{ engines: EngineView[] }>(await fetch(`${c.url}/engines`));
    return engines.find((e) => e.name === name)!;
  }

  /** The attempt the job's runJob activity ended on. */
  async function runJobAttempts(jobId: string): Promise<number> {
    const history = await c.temporal.workflow.getHandle(workflowIdFor(jobId)).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    return Math.max(0, ...started.map((e) => e.activityTaskStartedEventAttributes!.attempt!));
  }

  /** Runs jobs of the engine in pairs (each goes to whichever node polls first) until every node has run one; answers one per node. */
  async function runOnEveryNode(name: string): Promise<Map<string, Job>> {
    const ran = new Map<string, Job>();
    for (let round = 0; round < 10 && !(ran.has('node-a') && ran.has('node-b')); round++) {
      for (const job of await Promise.all([run(name), run(name)])) ran.set(job.node ?? 'none', job);
    }
    expect([...ran.keys()].sort()).toEqual(['node-a', 'node-b']);
    return ran;
  }

  it('a node whose daemon lacks the image pulls it at its first job; GET /engines shows the digest on each node', async () => {
    for (const job of (await runOnEveryNode('versioned')).values()) {
      expect(job).toMatchObject({ status: 'completed', imageDigest: v1 });
      expect(await resultOf(job)).toBe('1');
    }
    // node-b's own daemon has it now, pulled by digest from the registry.
    const pulled = await c.nodeDocker('node-b').getImage(`${registry.address}/mtest/versioned:stable`).inspect();
    expect(pulled.RepoDigests).toContain(`${registry.address}/mtest/versioned@${v1}`);
    await until('both nodes report v1', async () => {
      const view = await engine('versioned');
      return view.available && view.nodes.length === 2 && view.nodes.every((n) => n.digest === v1);
    });
  });

  it('a version pushed under the same tag runs at the next job; a pinned version stays as it was', async () => {
    v2 = await registry.publish('mtest/versioned:stable', 'menagerie/filemeta:stable', versionImage(2));
    expect(v2).not.toBe(v1);

    const next = await run('versioned');
    expect(next).toMatchObject({ status: 'completed', imageDigest: v2 });
    expect(await resultOf(next)).toBe('2');
    for (const job of (await runOnEveryNode('versioned')).values()) {
      expect(job).toMatchObject({ status: 'completed', imageDigest: v2 });
      expect(await resultOf(job)).toBe('2');
    }

    const pinned = await run('pinned');
    expect(pinned).toMatchObject({ status: 'completed', imageDigest: v1 });
    expect(await resultOf(pinned)).toBe('1');

    // Every node says the tag is v2 now, whether or not it ran it yet (the next job it runs pulls it).
    await until('both nodes report v2', async () => (await engine('versioned')).nodes.every((n) => n.digest === v2));
  });

  it('an unknown tag: available false with the reason, and a job fails at once with it, without retries', async () => {
    await until('the unknown image is reported unavailable', async () => (await engine('unknown')).available === false);
    expect((await engine('unknown')).unavailableReason).toMatch(/has no image .*mtest\/nosuch:stable/);

    const job = await run('unknown');
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^image not found: .*mtest\/nosuch:stable: the registry .* has no image/);
    expect(await runJobAttempts(job.jobid)).toBe(1);
  });

  it('wrong credentials: a missing image fails with the reason; a present one keeps working', async () => {
    await registry.changePassword();
    await until('late is reported unavailable', async () => (await engine('late')).available === false);
    expect((await engine('late')).unavailableReason).toMatch(/refused the credentials/);

    const late = await run('late');
    expect(late.status).toBe('failed');
    expect(late.error).toMatch(/^image not found: .*mtest\/late:stable: the registry .* refused the credentials/);
    expect(await runJobAttempts(late.jobid)).toBe(1);

    const present = await run('versioned');
    expect(present).toMatchObject({ status: 'completed', imageDigest: v2 });
    expect((await engine('versioned')).available).toBe(true);
  });

  it('a registry that is down: a present image keeps working; a missing one fails with the reason', async () => {
    await registry.stop();
    await until('late is reported unreachable', async () => /could not be reached/.test((await engine('late')).unavailableReason ?? ''));

    const late = await run('late');
    expect(late.status).toBe('failed');
    expect(late.error).toMatch(/^image not found: .*mtest\/late:stable: the registry .* could not be reached/);

    const present = await run('versioned');
    expect(present).toMatchObject({ status: 'completed', imageDigest: v2 });
    expect(await resultOf(present)).toBe('2');
  });
});
