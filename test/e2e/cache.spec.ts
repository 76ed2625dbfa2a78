import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { JobRetentionRepository } from '@menagerie/db';
import { createBlobStore } from '@menagerie/storage';
import { FAILS, FILEMETA, SLOW, STALLS } from '../support/cache-engines';
import { countingContainers } from '../support/docker-events';
import { writeEnginesFile, type TestEngine } from '../support/engines-file';
import { body, queueBytes, uploadBytes, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(600_000);

/**
 * The result cache on the real system: a completed job's result answers an
 * identical upload (same bytes, engine and effective spec) without a
 * workflow or a container, and nothing else does.
 */
describe('the result cache', () => {
  let sys: System;
  let enginesFile: string;
  const unique = (what: string) => `${what} ${randomUUID()}\n`;

  /** Runs `step` and answers it with the number of job containers created meanwhile. */
  const counting = <T>(step: () => Promise<T>) => countingContainers(sys, step);

  async function ran(content: string, name = 'in.txt', query = ''): Promise<Job> {
    const res = await fetch(`${sys.baseUrl}/filemeta/upload${query}`, { method: 'POST', body: form(content, name) });
    expect(res.status).toBe(201);
    return waitForJob(sys.baseUrl, (await body<Job>(res)).jobid, 120_000);
  }

  function form(content: string, name: string, fields: Record<string, string> = {}): FormData {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append('upload', new Blob([content]), name);
    return f;
  }

  /** Rewrites engines.json and waits until the running system has taken it. */
  async function reconfigure(engine: TestEngine): Promise<void> {
    writeFileSync(enginesFile, readFileSync(writeEnginesFile([engine, SLOW, FAILS, STALLS])));
    const image = engine.image ?? 'menagerie/filemeta:stable';
    await until('the engines reloaded', async () => {
      const { cmd, runflags, cachettl, image: now } = sys.config.engines[0].config;
      return (
        cmd === engine.cmd &&
        now === image &&
        JSON.stringify(runflags) === JSON.stringify(engine.runflags ?? []) &&
        cachettl === engine.cachettl
      );
    });
  }

  beforeAll(async () => {
    enginesFile = writeEnginesFile([FILEMETA, SLOW, FAILS, STALLS]);
    sys = await startSystem({ enginesFile });
    // The API computes a key only once the nodes have said which digest the engine's image has.
    await until('the node reporting the image digest', async () => {
      const engines = await body(await fetch(`${sys.baseUrl}/engines`));
      return engines.engines.every((e: { imageDigest: string | null }) => e.imageDigest);
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('answers a second identical upload at once from the first: no workflow, no container, the same bytes, marked cached', async () => {
    const content = unique('cache me');
    const first = await ran(content, 'first.txt');
    expect(first).toMatchObject({ status: 'completed', cached: false, cachedFrom: null });

    const { value: hit, containers } = await counting(async () => {
      const res = await uploadBytes(sys.baseUrl, 'filemeta', content, 'second.txt');
      expect(res.status).toBe(201);
      return body<Job>(res);
    });

    expect(containers).toBe(0);
    // Answered completed by the upload itself.
    expect(hit).toMatchObject({ status: 'completed', cached: true, cachedFrom: first.jobid, exitCode: 0, imageDigest: first.imageDigest });
    expect(hit.jobid).not.toBe(first.jobid);
    expect(hit.result).toEqual({ ...first.result, name: 'second.filemeta.json' });
    await expect(sys.env.client.workflow.getHandle(`job-${hit.jobid}`).describe()).rejects.toThrow(/not found/i);
    expect(hit.temporalUrl).toBeNull();
    const [a, b] = await Promise.all([first, hit].map(async (j) => Buffer.from(await (await fetch(j.resultUrl!)).arrayBuffer())));
    expect(b.equals(a)).toBe(true);
    // Its own history row, and the same in /jobs.
    const listed = await body(await fetch(`${sys.baseUrl}/jobs?sha256=${hit.input.sha256}`));
    expect(listed.items.map((j: Job) => [j.jobid, j.cached, j.cachedFrom])).toEqual([
      [hit.jobid, true, first.jobid],
      [first.jobid, false, null],
    ]);
  });

  it('runs the engine again when force=true is asked, on the query or as a form field', async () => {
    const content = unique('forced');
    const first = await ran(content);
    const { value: forced, containers } = await counting(() => ran(content, 'again.txt', '?force=true'));
    expect(containers).toBe(1);
    expect(forced).toMatchObject({ status: 'completed', cached: false, forced: true });

    const { value: viaField, containers: fieldContainers } = await counting(async () => {
      const res = await fetch(`${sys.baseUrl}/filemeta/upload`, { method: 'POST', body: form(content, 'field.txt', { force: 'true' }) });
      return waitForJob(sys.baseUrl, (await body<Job>(res)).jobid, 120_000);
    });
    expect(fieldContainers).toBe(1);
    expect(viaField).toMatchObject({ status: 'completed', cached: false, forced: true });
    expect(first.cached).toBe(false);
  });

  it('runs two identical uploads sent at the same moment once, and both get the result', async () => {
    const content = unique('twins');
    const { value: twins, containers } = await counting(async () => {
      const sent = await Promise.all([0, 1].map(() => queueBytes(sys.baseUrl, 'filemeta', content, 'twin.txt')));
      return Promise.all(sent.map((j) => waitForJob(sys.baseUrl, j.jobid, 120_000)));
    });
    expect(containers).toBe(1);
    expect(twins.map((j) => j.status)).toEqual(['completed', 'completed']);
    const [ranOne, follower] = twins[0].cached ? [twins[1], twins[0]] : twins;
    expect(follower).toMatchObject({ cached: true, cachedFrom: ranOne.jobid });
    const bytes = await Promise.all(twins.map(async (j) => Buffer.from(await (await fetch(j.resultUrl!)).arrayBuffer())));
    expect(bytes[0].equals(bytes[1])).toBe(true);
  });

  it('runs a job that waited for an identical one after all when that one is cancelled', async () => {
    const content = unique('handed on');
    const leader = await queueBytes(sys.baseUrl, 'slow', content);
    await waitForJob(sys.baseUrl, leader.jobid, 60_000, (j) => j.status === 'running');
    const follower = await queueBytes(sys.baseUrl, 'slow', content);
    expect(follower).toMatchObject({ status: 'queued', waitingFor: leader.jobid });

    const { value: ended, containers } = await counting(async () => {
      expect((await fetch(`${sys.baseUrl}/jobs/${leader.jobid}`, { method: 'DELETE' })).status).toBe(200);
      return waitForJob(sys.baseUrl, follower.jobid, 60_000);
    });
    expect(containers).toBe(1);
    expect(ended).toMatchObject({ status: 'completed', cached: false, cachedFrom: null, waitingFor: null });
    expect(await (await fetch(ended.resultUrl!)).text()).toBe(content);
  });

  it.each([
    ['fails', 'failed'],
    ['stalls', 'timed_out'],
  ])('runs a job that waited for an identical one itself when that one ends %s', async (engine, status) => {
    const content = unique(`after a leader that ${engine}`);
    const leader = await queueBytes(sys.baseUrl, engine, content);
    await waitForJob(sys.baseUrl, leader.jobid, 60_000, (j) => j.status === 'running');
    const follower = await queueBytes(sys.baseUrl, engine, content);
    expect(follower).toMatchObject({ status: 'queued', waitingFor: leader.jobid });

    const { value: ended, containers } = await counting(async () => {
      const led = await waitForJob(sys.baseUrl, leader.jobid, 60_000);
      return { led, own: await waitForJob(sys.baseUrl, follower.jobid, 90_000) };
    });
    expect(ended.led.status).toBe(status);
    // The follower ran in a container of its own, after the leader ended, and ended as its own run did.
    expect(containers).toBe(1);
    expect(ended.own).toMatchObject({ status, cached: false, cachedFrom: null, waitingFor: null });
    expect(new Date(ended.own.startedAt!).getTime()).toBeGreaterThanOrEqual(new Date(ended.led.finishedAt!).getTime());
    const [row] = await sys.db.query(`SELECT cached_from, node FROM jobs WHERE id = $1`, [follower.jobid]);
    expect(row).toEqual({ cached_from: null, node: sys.config.node.name });
  });

  it('misses once the TTL has passed since the engine really ran', async () => {
    const content = unique('ttl');
    const first = await ran(content);
    // Ran an hour and a second ago: past the engine's cachettl of 3600.
    await sys.db.query(`UPDATE jobs SET finished_at = now() - interval '3601 seconds' WHERE id = $1`, [first.jobid]);
    const { value: again, containers } = await counting(() => ran(content));
    expect(containers).toBe(1);
    expect(again.cached).toBe(false);
  });

  it("keeps serving a hit after retention removed the original's files, and stops offering the original", async () => {
    const content = unique('retained');
    const first = await ran(content);
    const hit = await queueBytes(sys.baseUrl, 'filemeta', content, 'hit.txt');
    expect(hit.cached).toBe(true);
    // What retention does to the original: its files removed, its row marked expired.
    const blobs = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
    await blobs.remove(first.jobid);
    await new JobRetentionRepository(sys.db).markExpired(first.jobid);
    await blobs.close();

    expect((await fetch(`${sys.baseUrl}/link/${first.jobid}`)).status).toBe(410);
    const served = await fetch(hit.resultUrl!);
    expect(served.status).toBe(200);
    expect(JSON.parse(await served.text()).sha256).toBe(first.input.sha256);
    // The next identical upload runs (the expired original is no longer offered), and becomes what is cached.
    const { value: next, containers } = await counting(() => ran(content));
    expect(containers).toBe(1);
    expect(next.cached).toBe(false);
  });

  it('misses when the engine changes: a different cmd, image reference or runflag', async () => {
    const content = unique('changes');
    await ran(content);
    const alias = `menagerie/filemeta:cache-test-${randomUUID().slice(0, 8)}`;
    execFileSync('docker', ['tag', 'menagerie/filemeta:stable', alias]);
    try {
      for (const changed of [
        { ...FILEMETA, cmd: '/engine/filemeta.py' },
        { ...FILEMETA, cmd: '/engine/filemeta.py', image: alias },
        { ...FILEMETA, cmd: '/engine/filemeta.py', image: alias, runflags: ['--memory', '300m'] },
      ]) {
        await reconfigure(changed);
        const { value: job, containers } = await counting(() => ran(content));
        expect({ engine: changed, containers, cached: job.cached, status: job.status }).toEqual({
          engine: changed,
          containers: 1,
          cached: false,
          status: 'completed',
        });
        // ...and the same spec again hits.
        const hit = await queueBytes(sys.baseUrl, 'filemeta', content);
        expect(hit).toMatchObject({ cached: true, cachedFrom: job.jobid });
      }
    } finally {
      execFileSync('docker', ['rmi', alias]);
    }
  });

  it('misses for an identical upload once the node has seen its image retagged to a new digest', async () => {
    const content = unique('retagged');
    const stable = 'menagerie/filemeta:stable';
    const moving = `menagerie/filemeta:cache-moving-${randomUUID().slice(0, 8)}`;
    // A second image with another digest: the same engine with one more label.
    execFileSync('docker', ['tag', stable, moving]);
    try {
      await reconfigure({ ...FILEMETA, image: moving });
      const digestOf = async () => (await body(await fetch(`${sys.baseUrl}/engines`))).engines[0].imageDigest as string | null;
      const tagged = (await sys.docker.getImage(moving).inspect()).Id;
      const before = await until('the node reporting the moving tag', async () => ((await digestOf()) === tagged ? tagged : null));
      const first = await ran(content);
      expect((await queueBytes(sys.baseUrl, 'filemeta', content)).cached).toBe(true);

      const built = execFileSync('docker', ['build', '-q', '-t', moving, '--label', `rebuilt=${randomUUID()}`, '-'], {
        input: `FROM ${stable}\n`,
      })
        .toString()
        .trim();
      // The node checks its images every second (node.digestCheckSeconds) and reports a moved digest at once;
      // an upload reads the nodes at most a second old. So within a few seconds identical uploads miss.
      await until('the node reporting the new digest', async () => (await digestOf()) === built, 30_000);
      const missed = await until(
        'an identical upload missing the cache',
        async () => {
          const probe = await queueBytes(sys.baseUrl, 'filemeta', content);
          return probe.cached ? null : probe;
        },
        5_000,
        250,
      );
      const again = await waitForJob(sys.baseUrl, missed.jobid, 120_000);
      expect(again).toMatchObject({ status: 'completed', cached: false, imageDigest: built });
      expect(before).not.toBe(built);
      expect(first.imageDigest).toBe(before);
    } finally {
      await reconfigure(FILEMETA);
      execFileSync('docker', ['rmi', '-f', moving]);
    }
  });

  it('is off for an engine whose cachettl is 0', async () => {
    await reconfigure({ ...FILEMETA, cachettl: 0 });
    const content = unique('uncached');
    await ran(content);
    const { value: again, containers } = await counting(() => ran(content));
    expect(containers).toBe(1);
    expect(again.cached).toBe(false);
  });
});
