import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { writeEnginesFile } from '../support/engines-file';
import {
  STRAY_DIRS,
  strayPath,
  FLOOD_BYTES,
  ENGINES,
  DISK_LIMIT,
  DISK_MARGIN,
  DISK_LIMIT_ERROR,
  mountsUnder,
} from '../support/hostile-engines';
import { body, getJob, queueBytes, waitForJob, type Job } from '../support/http';
import { storedOf } from '../support/stored';
import { jobContainers, startSystem, type System } from '../support/system';
import { sleep, until } from '../support/until';

jest.setTimeout(300_000);

/** Hostile engines are contained, the system keeps serving other jobs meanwhile, and no container is left. */
describe('hostile engines', () => {
  let sys: System;
  const jobIds: string[] = [];

  beforeAll(async () => {
    // Nothing of the stray name may exist before the writer runs, or the host check would prove nothing.
    for (const dir of STRAY_DIRS) expect(existsSync(strayPath(dir))).toBe(false);
    sys = await startSystem({ enginesFile: writeEnginesFile(ENGINES), settings: { jobDirLimitBytes: DISK_LIMIT } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  async function submit(engine: string): Promise<Job> {
    const job = await queueBytes(sys.baseUrl, engine, 'hostile payload');
    jobIds.push(job.jobid);
    return job;
  }

  const storedLog = async (id: string) => (await storedOf(sys.config).read(id, 'engine.log')) ?? Buffer.alloc(0);
  const tookMs = (j: Job) => new Date(j.finishedAt!).getTime() - new Date(j.startedAt!).getTime();

  /** A finished job has no container left. */
  async function expectGone(job: Job): Promise<void> {
    expect(await jobContainers(sys.docker, [job.jobid])).toEqual([]);
  }

  it('contains a fork bomb with the pids limit while another engine keeps working', async () => {
    const bomb = await submit('forkbomb');
    await waitForJob(sys.baseUrl, bomb.jobid, 60_000, (j) => j.status === 'running');

    // Watch the bomb go off: its container's pid count climbs to the limit and no further.
    const [info] = await until(
      "the bomb's container",
      async () => {
        const found = await jobContainers(sys.docker, [bomb.jobid]);
        return found.length ? found : null;
      },
      10_000,
    );
    let maxPids = 0;
    // Watched for up to 25 s of its 30 s timeout: under load, docker stats answers slowly and the count swings as bombs die and fork.
    const detonated = Date.now() + 25_000;
    while (Date.now() < detonated) {
      // A slow machine may reach the timeout first: the container is then gone, and that ends the watch.
      const container = sys.docker.getContainer(info.Id);
      const stats = await (container.stats({ stream: false, 'one-shot': true } as never) as unknown as Promise<unknown>).catch(() => null);
      if (!stats) {
        // A daemon slow to answer under load is no end of the watch; a container that is gone is.
        if (
          !(await container.inspect().then(
            (i) => i.State.Running,
            () => false,
          ))
        )
          break;
        await sleep(200);
        continue;
      }
      maxPids = Math.max(maxPids, (stats as unknown as { pids_stats?: { current?: number } }).pids_stats?.current ?? 0);
      if (maxPids >= 24) break;
      await sleep(200);
    }
    expect(maxPids).toBeGreaterThanOrEqual(24);
    expect(maxPids).toBeLessThanOrEqual(32);

    // The host is fine: it can still start processes, and the API answers its health check.
    expect(execFileSync('sh', ['-c', 'echo host-ok']).toString()).toBe('host-ok\n');
    const health = await fetch(`${sys.baseUrl}/health`);
    expect(health.status).toBe(200);

    // A normal job on another engine runs to completion while the bomb is still going.
    const normal = await waitForJob(sys.baseUrl, (await submit('normal')).jobid, 30_000);
    expect(normal.status).toBe('completed');
    expect((await getJob(sys.baseUrl, bomb.jobid)).status).toBe('running');

    const done = await waitForJob(sys.baseUrl, bomb.jobid, 60_000);
    expect(['failed', 'timed_out']).toContain(done.status);
    expect(new Date(normal.finishedAt!).getTime()).toBeLessThan(new Date(done.finishedAt!).getTime());
    expect(tookMs(done)).toBeLessThan(60_000);
    expect((await storedLog(done.jobid)).toString('utf8')).toContain('bombing');
    await expectGone(done);
    await expectGone(normal);
  });

  describe('run side by side', () => {
    // Submitted together, so they run at the same time; each test below checks one.
    const jobs = new Map<string, Promise<Job>>();
    const finished = (engine: string) => jobs.get(engine)!;

    beforeAll(async () => {
      for (const engine of ['memhog', 'network', 'cpuloop', 'symlink', 'writer', 'escalate', 'garbage', 'normal']) {
        const queued = await submit(engine);
        // Each of these ends within seconds; the bound only keeps a stuck job from holding up the file.
        const done = waitForJob(sys.baseUrl, queued.jobid, 45_000);
        done.catch(() => undefined); // awaited by its test
        jobs.set(engine, done);
      }
    });

    it('keeps serving a normal job meanwhile', async () => {
      const job = await finished('normal');
      expect(job.status).toBe('completed');
      await expectGone(job);
    });

    it('fails a memory hog at its memory limit', async () => {
      const job = await finished('memhog');
      expect(job.status).toBe('failed');
      expect(job.error).toBe(`engine was killed for exceeding its memory limit of ${64 * 1024 ** 2} bytes`);
      expect(job.exitCode).toBe(137);
      expect(job.logTail).toContain('allocating');
      expect(job.logTail).not.toContain('survived');
      await expectGone(job);
    });

    it('gives an engine no network at all', async () => {
      const job = await finished('network');
      expect(job.status).toBe('completed');
      const found = await body(await fetch(`${sys.baseUrl}/link/${job.jobid}`));
      expect(found.tcp.ok).toBe(false);
      expect(found.dns.ok).toBe(false);
      expect(found.interfaces).toEqual(['lo']);
      await expectGone(job);
    });

    it('kills an endless CPU loop at its timeout, keeping the partial log', async () => {
      const job = await finished('cpuloop');
      expect(job.status).toBe('timed_out');
      expect(job.error).toMatch(/timeout of 3s/);
      expect(tookMs(job)).toBeLessThan(20_000);
      expect(job.logTail).toContain('looping now');
      expect((await storedLog(job.jobid)).toString('utf8')).toContain('looping now');
      await expectGone(job);
    });

    it('records a failure whose output holds NUL and non-UTF-8 bytes', async () => {
      const job = await finished('garbage');
      expect(job).toMatchObject({ status: 'failed', exitCode: 3, error: 'engine exited with code 3' });
      expect(job.logTail).toContain('before');
      expect(job.logTail).toContain('bad input');
      // stdout and stderr are separate pipes, so their order may vary; the bytes are kept as they were.
      const log = await storedLog(job.jobid);
      const [out, err] = [Buffer.from('before\0after\xff\xfe\n', 'latin1'), Buffer.from('bad input\n')];
      expect(log.length).toBe(out.length + err.length);
      expect(log.includes(out)).toBe(true);
      expect(log.includes(err)).toBe(true);
      await expectGone(job);
    });

    it('refuses a result that is a symlink to a host file', async () => {
      const job = await finished('symlink');
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/not a regular file/);
      expect(job.result).toBeNull();
      const link = await fetch(`${sys.baseUrl}/link/${job.jobid}`);
      expect(link.status).toBe(404);
      expect(await link.text()).not.toContain('root:');
      expect((await storedOf(sys.config).names(job.jobid)).filter((f) => f.startsWith('result'))).toEqual([]);
      await expectGone(job);
    });

    it('lets an engine write only to /tmp and its job directory, never the host', async () => {
      const job = await finished('writer');
      expect(job.status).toBe('completed');
      const wrote = await body(await fetch(`${sys.baseUrl}/link/${job.jobid}`));
      expect(wrote).toEqual(Object.fromEntries(STRAY_DIRS.map((d) => [strayPath(d), d === '/tmp' || d === '/var/data'])));
      for (const dir of STRAY_DIRS) expect(existsSync(strayPath(dir))).toBe(false);
      await expectGone(job);
    });

    it('runs an engine unprivileged, with no capabilities and no way to gain them', async () => {
      const job = await finished('escalate');
      expect(job.status).toBe('completed');
      const found = await body(await fetch(`${sys.baseUrl}/link/${job.jobid}`));
      expect(found.uid).not.toBe('0');
      expect(found.euid).not.toBe(0);
      expect(found.CapEff).toBe('0000000000000000');
      expect(found.CapPrm).toBe('0000000000000000');
      expect(found.CapBnd).toBe('0000000000000000');
      expect(found.NoNewPrivs).toBe('1');
      expect(found.setuid0).toBe(false);
      expect(found.chroot).toBe(false);
      await expectGone(job);
    });
  });

  it('caps a stdout flood in the stored log, in bounded worker memory', async () => {
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const flood = await submit('flood');
      await waitForJob(sys.baseUrl, flood.jobid, 60_000, (j) => j.status === 'running');
      // Meanwhile another engine's job still goes through.
      const normal = await waitForJob(sys.baseUrl, (await submit('normal')).jobid, 60_000);
      expect(normal.status).toBe('completed');

      const job = await waitForJob(sys.baseUrl, flood.jobid, 150_000);
      expect(job.status).toBe('completed');
      const limit = sys.config.settings.logLimitBytes;
      const log = (await storedLog(job.jobid)).toString('utf8');
      expect(Buffer.byteLength(log)).toBeLessThanOrEqual(limit + 100);
      expect(log).toMatch(/\[\.\.\. \d+ bytes of output omitted \.\.\.\]/);
      const omitted = Number(/(\d+) bytes of output omitted/.exec(log)![1]);
      expect(omitted).toBeGreaterThan(FLOOD_BYTES - limit);
      expect(log.startsWith('flood-start\n')).toBe(true);
      expect(job.logTail).toContain('flood-end');
      const result = await body(await fetch(`${sys.baseUrl}/link/${job.jobid}`));
      expect(result).toEqual({ flooded: true });
      await expectGone(job);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - baseline).toBeLessThan(150 * 1024 ** 2);
  });

  it('fails an engine that fills its job directory past the limit, naming the limit', async () => {
    const job = await waitForJob(sys.baseUrl, (await submit('diskfill')).jobid, 120_000);
    expect(job.status).toBe('failed');
    // Killed by the watchdog, or exited by itself after ENOSPC: either way the limit is named.
    expect(job.error).toMatch(DISK_LIMIT_ERROR);
    expect(tookMs(job)).toBeLessThan(60_000);
    await expectGone(job);
  });

  it("holds an engine writing to a file it unlinked to the limit, on the host's disk too", async () => {
    const free = () => {
      const fs = statfsSync(sys.config.storageDir);
      return fs.bavail * fs.bsize;
    };
    const baseline = free();
    let lowest = baseline;
    const sampler = setInterval(() => (lowest = Math.min(lowest, free())), 50);
    let job: Job;
    try {
      job = await waitForJob(sys.baseUrl, (await submit('hidden')).jobid, 90_000);
    } finally {
      clearInterval(sampler);
    }
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(DISK_LIMIT_ERROR);
    expect(job.logTail).toMatch(/stopped writing at \d+ \[Errno 28\] No space left on device/);
    expect(baseline - lowest).toBeLessThanOrEqual(DISK_LIMIT + DISK_MARGIN);
    await expectGone(job);
    // Unmounted in the background once the result is stored: slower on a loaded machine.
    await until('its volume unmounted and its loop device freed', async () => mountsUnder(sys.config.storageDir).length === 0, 30_000);
  });

  it('bounds the empty files and directories an engine makes, naming the limit', async () => {
    const job = await waitForJob(sys.baseUrl, (await submit('emptyfiles')).jobid, 150_000);
    expect(job.status).toBe('failed');
    expect(job.exitCode).toBe(1);
    expect(job.error).toBe(
      `engine filled its job directory with the most files and directories it may hold (${DISK_LIMIT / 16384}, set by jobDirLimitBytes ${DISK_LIMIT})`,
    );
    const refusedAt = Number(/refused at (\d+) \[Errno 28\]/.exec(job.logTail ?? '')?.[1]);
    expect(refusedAt).toBeLessThan(DISK_LIMIT / 16384);
    await expectGone(job);
  });

  it('leaves no container, job directory, volume, mount or loop device behind', async () => {
    expect(jobIds.length).toBe(15);
    expect(await jobContainers(sys.docker, jobIds)).toEqual([]);
    // A job's directory is cleared just after its final status is recorded.
    const left = () => [
      ...['jobs', 'volumes'].flatMap((area) => {
        const dir = join(sys.config.storageDir, area);
        return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
      }),
      ...mountsUnder(sys.config.storageDir),
    ];
    await until('every job directory, volume and mount gone', async () => left().length === 0, 10_000).catch(() => undefined);
    expect(left()).toEqual([]);
  });
});
