import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ActivityDeps, type RunningJobs } from '@menagerie/activities';
import {
  completedJob,
  FAILURE_TYPES,
  MenagerieError,
  type UserNamespace,
  type EngineJobInput,
  type EngineSpec,
  type FinalizeJobInput,
  type JobRun,
} from '@menagerie/core';
import {
  RegistryError,
  type ContainerRuntime,
  type ImageInfo,
  type RegistryAuth,
  type RunOutcome,
  type RunRequest,
} from '@menagerie/runtime';
import type { JobEntity } from '@menagerie/db';
import { cacheKey } from '@menagerie/engines';
import { Scratch, type BlobKind, type BlobStore, type OpenBlob, type StoredBlob } from '@menagerie/storage';

const ENGINE: EngineSpec = {
  name: 'filemeta',
  image: 'menagerie/filemeta:1',
  cmd: ['analyse'],
  mountpoint: '/job',
  inputfilename: 'sample',
  user: '1000',
  timeout: 60,
  runflags: [],
};
const DIGEST = 'sha256:' + 'd'.repeat(64);
const STARTED = new Date('2026-12-01T10:00:00.000Z');
const ENGINE_LOG = 'reading sample\nwrote result\n';
const unavailable = () => new MenagerieError('STORAGE_UNAVAILABLE', 'S3 storage at http://s3 failed: connect ECONNREFUSED');

/** A BlobStore in memory; `failPut`/`failOpen` may throw instead, to play an outage. */
class MemoryBlobs implements BlobStore {
  readonly blobs = new Map<string, Buffer>();
  failPut: (kind: BlobKind) => Error | null = () => null;
  /** May hold the answer back, as a store call in flight during an outage does. */
  failOpen: (kind: BlobKind) => Error | null | Promise<Error | null> = () => null;
  readonly puts: BlobKind[] = [];
  readonly opens: BlobKind[] = [];

  get(jobId: string, kind: BlobKind): Buffer | undefined {
    return this.blobs.get(`${jobId}/${kind}`);
  }
  async put(jobId: string, kind: BlobKind, source: Readable, limit: number): Promise<StoredBlob> {
    this.puts.push(kind);
    const refused = this.failPut(kind);
    if (refused) {
      source.destroy();
      throw refused;
    }
    const bytes = Buffer.concat(await source.toArray());
    if (bytes.length > limit) throw new MenagerieError('UPLOAD_TOO_LARGE', `over ${limit} bytes`);
    this.blobs.set(`${jobId}/${kind}`, bytes);
    return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  async open(jobId: string, kind: BlobKind, range?: { start: number; end: number }): Promise<OpenBlob | null> {
    this.opens.push(kind);
    const refused = await this.failOpen(kind);
    if (refused) throw refused;
    const bytes = this.get(jobId, kind);
    if (!bytes) return null;
    return { stream: Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]), size: bytes.length };
  }
  async share(from: string, to: string, kind: BlobKind): Promise<boolean> {
    const bytes = this.get(from, kind);
    if (!bytes) return false;
    this.blobs.set(`${to}/${kind}`, bytes);
    return true;
  }
  async remove(jobId: string): Promise<void> {
    for (const key of [...this.blobs.keys()]) if (key.startsWith(`${jobId}/`)) this.blobs.delete(key);
  }
  async abortStaleUploads(): Promise<number> {
    return 0;
  }
  async listIds(): Promise<{ ids: string[]; next: string | null }> {
    return { ids: [], next: null };
  }
  async lastWritten(): Promise<Date | null> {
    return null;
  }
  async init(): Promise<void> {}
  async check(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What the fake engine does in its job directory, and how it ends. */
type Engine = (dir: string) => Partial<RunOutcome>;

/** A ContainerRuntime whose run() calls `engine` on the job directory, recording what it was asked and what it saw. */
function fakeRuntime(engine: Engine, onRun: () => void) {
  const runs: Array<{ request: RunRequest; input: string }> = [];
  const runtime: jest.Mocked<ContainerRuntime> = {
    ping: jest.fn(async () => undefined),
    userNamespace: jest.fn(async (): Promise<UserNamespace | null> => null),
    inspectImage: jest.fn(async (_ref: string): Promise<ImageInfo | null> => ({ id: 'sha256:local', digest: DIGEST })),
    pullImage: jest.fn(async (_ref: string, _auth: RegistryAuth | null, _onProgress: (line: string) => void) => undefined),
    registryDigest: jest.fn(async (_ref: string, _auth: RegistryAuth | null): Promise<string> => DIGEST),
    run: jest.fn(async (request: RunRequest, _signal: AbortSignal): Promise<RunOutcome> => {
      onRun();
      runs.push({ request, input: readFileSync(join(request.hostDir, ENGINE.inputfilename), 'utf8') });
      const log = Buffer.from(ENGINE_LOG);
      return {
        exitCode: 0,
        timedOut: false,
        cancelled: false,
        oomKilled: false,
        log,
        logTail: (bytes: number) => log.subarray(Math.max(0, log.length - bytes)).toString(),
        startedAt: STARTED,
        ...engine(request.hostDir),
      };
    }),
    listJobContainers: jest.fn(async () => []),
    removeContainer: jest.fn(async (_id: string) => undefined),
    removeJobContainers: jest.fn(async (_jobId: string): Promise<string[]> => []),
  };
  return { runtime, runs };
}

const writesResult =
  (bytes: string | Buffer): Engine =>
  (dir) => {
    writeFileSync(join(dir, 'result'), bytes);
    return {};
  };

async function setup(engine: Engine, options: Partial<ActivityDeps> = {}) {
  const jobId = randomUUID();
  const blobs = new MemoryBlobs();
  blobs.blobs.set(`${jobId}/input`, Buffer.from('the sample bytes'));
  const scratch = new Scratch(mkdtempSync(join(tmpdir(), 'menagerie-runjob-')), {
    node: 'node-a',
    filesystem: 'plain',
    limitBytes: 10_000_000,
  });
  await scratch.init();
  const running: RunningJobs = new Map();
  const runningDuringRun: string[][] = [];
  const { runtime, runs } = fakeRuntime(engine, () => runningDuringRun.push([...running.keys()]));
  const jobs = {
    findById: jest.fn(async () => ({ originalName: 'from-the-row.bin' })),
    markRunning: jest.fn(async () => undefined),
    finalize: jest.fn(async (_input: FinalizeJobInput) => undefined),
    findCached: jest.fn(async (_key: string, _since: Date): Promise<JobEntity | null> => null),
  };
  const deps = {
    blobs,
    scratch,
    node: 'node-a',
    running,
    runtime,
    jobs,
    allowRunflags: [],
    logLimitBytes: 1024 * 1024,
    logTailBytes: 1024,
    resultLimitBytes: 1024 * 1024,
    heartbeatIntervalMs: 50,
    storeRetryMs: 3000,
    engineEnv: () => [],
    ...options,
  } as unknown as ActivityDeps;
  const activities = createActivities(deps);
  const input: EngineJobInput = { jobId, engine: ENGINE, originalName: 'sample.apk' };
  const stored = (kind: BlobKind) => blobs.get(jobId, kind)?.toString();
  return { jobId, blobs, scratch, runtime, runs, running, runningDuringRun, jobs, activities, input, stored };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const facts = (exitCode: number) => ({
  imageDigest: DIGEST,
  startedAt: STARTED.toISOString(),
  node: 'node-a',
  exitCode,
  logTail: ENGINE_LOG,
});

describe('runJob (workflow version 4: the whole run on one node)', () => {
  it('fetches the input, runs the engine on it, stores the result and the log, and leaves nothing behind', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'));

    const run = await new MockActivityEnvironment().run(t.activities.runJob, t.input);

    expect(run).toEqual({
      exitCode: 0,
      imageDigest: DIGEST,
      startedAt: STARTED.toISOString(),
      node: 'node-a',
      logTail: ENGINE_LOG,
      result: { name: 'sample.filemeta.json', size: 20, mime: 'application/json' },
    });
    expect(t.stored('result')).toBe('{"verdict": "clean"}');
    expect(t.stored('log')).toBe(ENGINE_LOG);
    // The engine ran once, on the fetched input, in this node's scratch directory for the job.
    expect(t.runs.map((r) => [r.input, r.request.hostDir])).toEqual([['the sample bytes', t.scratch.dir(t.jobId)]]);
    expect(t.runs[0]!.request.env).toContain('MENAGERIE_INPUT=sample');
    expect(t.runningDuringRun).toEqual([[t.jobId]]);
    expect(t.jobs.markRunning).toHaveBeenCalledWith(t.jobId, ENGINE.image, DIGEST, 'node-a');
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(await t.scratch.list()).toEqual([]);
    expect(t.running.size).toBe(0);
  });

  it('records the completed job itself, as the workflow would, before it returns; a failed run records nothing', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'));
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(t.jobs.finalize.mock.calls).toEqual([[completedJob(t.jobId, run)]]);
    expect(completedJob(t.jobId, run)).toEqual({
      jobId: t.jobId,
      status: 'completed',
      exitCode: 0,
      logTail: ENGINE_LOG,
      result: { name: 'sample.filemeta.json', size: 20, mime: 'application/json' },
      imageDigest: DIGEST,
      startedAt: STARTED.toISOString(),
      node: 'node-a',
    });

    const failed = await setup(() => ({ exitCode: 3 }));
    await failureOf(new MockActivityEnvironment().run(failed.activities.runJob, failed.input));
    expect(failed.jobs.finalize).not.toHaveBeenCalled(); // a failure is the workflow's to record
  });

  it('still hands its run back when the database does not take that early record', async () => {
    const t = await setup(writesResult('{}'));
    t.jobs.finalize.mockRejectedValue(new Error('connection terminated'));
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(run.result).toEqual({ name: 'sample.filemeta.json', size: 2, mime: 'application/json' });
  });

  it('on a retry of a job an earlier attempt already recorded completed, hands back that run without running the engine', async () => {
    const t = await setup(writesResult('{}'));
    t.jobs.findById.mockResolvedValue({
      originalName: 'sample.apk',
      status: 'completed',
      exitCode: 0,
      imageDigest: DIGEST,
      startedAt: STARTED,
      logTail: ENGINE_LOG,
      node: 'node-b',
      resultName: 'sample.filemeta.json',
      resultSize: 20,
      resultMime: 'application/json',
    } as never);
    const run = await new MockActivityEnvironment({ attempt: 2 }).run(t.activities.runJob, t.input);
    expect(run).toEqual({
      exitCode: 0,
      imageDigest: DIGEST,
      startedAt: STARTED.toISOString(),
      logTail: ENGINE_LOG,
      node: 'node-b',
      result: { name: 'sample.filemeta.json', size: 20, mime: 'application/json' },
    });
    expect(t.runs).toEqual([]);
    expect(t.jobs.finalize).not.toHaveBeenCalled();
  });

  it('fails EngineFailed on a non-zero exit, with what ran, when and where; the log is kept and the node is cleared', async () => {
    const t = await setup(() => ({ exitCode: 3 }));

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true, message: 'engine exited with code 3' });
    expect(failure.details).toEqual([facts(3)]);
    expect(t.stored('log')).toBe(ENGINE_LOG);
    expect(t.stored('result')).toBeUndefined();
    // A run that did not end clean may have left a container: it is removed by job id.
    expect(t.runtime.removeJobContainers).toHaveBeenCalledWith(t.jobId);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails NoResult, with the facts of the run, when the engine wrote no result file', async () => {
    const t = await setup(() => ({}));

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({
      type: FAILURE_TYPES.noResult,
      nonRetryable: true,
      message: 'engine finished but wrote no result file at /job/result',
    });
    expect(failure.details).toEqual([facts(0)]);
    expect(t.stored('log')).toBe(ENGINE_LOG);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails NoResult, with the facts of the run, for a result over resultLimitBytes, and stores none of it', async () => {
    const t = await setup(writesResult(Buffer.alloc(2000, 'r')), { resultLimitBytes: 1000 });

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({
      type: FAILURE_TYPES.noResult,
      nonRetryable: true,
      message: "engine's result is larger than the limit of 1000 bytes",
    });
    expect(failure.details).toEqual([facts(0)]);
    expect(t.stored('result')).toBeUndefined();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
  });

  it('waits out a store that is unavailable for a while when storing the result, without running the engine again', async () => {
    // Two refusals are waited out with 1 s, then 2 s of backoff: well within storeRetryMs.
    const t = await setup(writesResult('{"verdict": "clean"}'), { storeRetryMs: 10_000 });
    let refusals = 2;
    t.blobs.failPut = (kind) => (kind === 'result' && refusals-- > 0 ? unavailable() : null);

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);

    expect(run.result).toEqual({ name: 'sample.filemeta.json', size: 20, mime: 'application/json' });
    expect(t.blobs.puts.filter((k) => k === 'result')).toHaveLength(3);
    // Each try read the result from its start.
    expect(t.stored('result')).toBe('{"verdict": "clean"}');
    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails the attempt with STORAGE_UNAVAILABLE (to be retried) when the store stays away past storeRetryMs, and clears the node', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'), { storeRetryMs: 1500 });
    t.blobs.failPut = (kind) => (kind === 'result' ? unavailable() : null);

    const err = await new MockActivityEnvironment().run(t.activities.runJob, t.input).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(MenagerieError);
    expect(err).not.toBeInstanceOf(ApplicationFailure); // a plain error: Temporal retries it
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    // One wait of 1 s fits in 1.5 s, a second of 2 s would not.
    expect(t.blobs.puts.filter((k) => k === 'result')).toHaveLength(2);
    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails InputMissing, without retries and without running anything, when the stored input is gone', async () => {
    const t = await setup(writesResult('x'));
    await t.blobs.remove(t.jobId);

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({
      type: FAILURE_TYPES.inputMissing,
      nonRetryable: true,
      message: `the stored input of job ${t.jobId} is missing`,
    });
    expect(t.runtime.run).not.toHaveBeenCalled();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('stops waiting for the store when the job is cancelled during the backoff', async () => {
    const t = await setup(writesResult('x'), { storeRetryMs: 600_000 });
    let waiting!: () => void;
    const backingOff = new Promise<void>((resolve) => (waiting = resolve));
    const logger = new DefaultLogger('WARN', (entry) => {
      if (entry.message.startsWith('the store is unavailable; waiting to fetch the input')) waiting();
    });
    const env = new MockActivityEnvironment(undefined, { logger });
    t.blobs.failOpen = () => unavailable();

    const run = env.run(t.activities.runJob, t.input).catch((e: unknown) => e);
    await backingOff;
    env.cancel();
    const err = await run;

    expect(err).toBeInstanceOf(CancelledFailure);
    expect(t.blobs.opens).toEqual(['input']);
    expect(t.runtime.run).not.toHaveBeenCalled();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('ends as cancelled, not as a store failure to retry, when the cancel comes while a store call is in flight', async () => {
    const t = await setup(writesResult('x'), { storeRetryMs: 600_000 });
    const env = new MockActivityEnvironment();
    let inFlight!: () => void;
    const asked = new Promise<void>((resolve) => (inFlight = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    t.blobs.failOpen = async () => {
      inFlight();
      await answered; // the store times out only after the cancel arrived
      return unavailable();
    };

    const run = env.run(t.activities.runJob, t.input).catch((e: unknown) => e);
    await asked;
    env.cancel();
    answer();
    const err = await run;

    expect(err).toBeInstanceOf(CancelledFailure);
    expect(t.runtime.run).not.toHaveBeenCalled();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('on a retry, first removes the containers an earlier attempt left, then runs afresh', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'));
    t.runtime.removeJobContainers.mockResolvedValueOnce(['c0ffee']);

    await new MockActivityEnvironment({ attempt: 2 }).run(t.activities.runJob, t.input);

    expect(t.runtime.removeJobContainers).toHaveBeenCalledWith(t.jobId);
    expect(t.runtime.removeJobContainers.mock.invocationCallOrder[0]).toBeLessThan(t.runtime.run.mock.invocationCallOrder[0]!);
    expect(t.stored('result')).toBe('{"verdict": "clean"}');
  });

  it('fails a refused runflag before fetching anything', async () => {
    const t = await setup(writesResult('x'));
    const failure = await failureOf(
      new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, runflags: ['--privileged'] } }),
    );
    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true });
    expect(t.blobs.opens).toEqual([]);
    expect(t.runtime.run).not.toHaveBeenCalled();
    expect(t.running.size).toBe(0);
  });
});

// Giving a directory away needs root (as the worker is); elsewhere the job directory is opened to all instead.
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('runJob on a Docker daemon that remaps user namespaces (--userns-remap)', () => {
  const REMAP: UserNamespace = { uid: 100000, gid: 200000, size: 65536 };
  /** The engine sees who owns its directory and its input, as the host does. */
  const owners: Array<{ dir: string; input: string }> = [];
  const seesOwners: (dir: string) => Partial<RunOutcome> = (dir) => {
    const owner = (path: string) => `${statSync(path).uid}:${statSync(path).gid}`;
    owners.push({ dir: owner(dir), input: owner(join(dir, ENGINE.inputfilename)) });
    writeFileSync(join(dir, 'result'), '{}');
    return {};
  };
  beforeEach(() => owners.splice(0));

  it("gives the job directory to the engine's remapped ids, and still runs the container as the engine's own user", async () => {
    const t = await setup(seesOwners);
    t.runtime.userNamespace.mockResolvedValue(REMAP);
    await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, user: '1000:1001' } });
    expect(owners).toEqual([{ dir: '101000:201001', input: '101000:201001' }]);
    expect(t.runs[0]!.request.user).toBe('1000:1001');
  });

  it('gives it to the engine user itself on a daemon that does not remap', async () => {
    const t = await setup(seesOwners);
    await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(owners).toEqual([{ dir: '1000:1000', input: '1000:1000' }]);
  });

  it('gives it to the engine user itself when the engine opts out of the namespace (--userns=host, allowed)', async () => {
    const t = await setup(seesOwners, { allowRunflags: ['--userns=host'] });
    t.runtime.userNamespace.mockResolvedValue(REMAP);
    await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, runflags: ['--userns=host'] } });
    expect(owners).toEqual([{ dir: '1000:1000', input: '1000:1000' }]);
  });

  it('fails EngineFailed, running nothing, for an engine user the namespace does not map', async () => {
    const t = await setup(seesOwners);
    t.runtime.userNamespace.mockResolvedValue(REMAP);
    const failure = await failureOf(
      new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, user: '70000' } }),
    );
    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true });
    expect(failure.message).toMatch(/uid 70000 is outside the 65536 ids/);
    expect(t.runtime.run).not.toHaveBeenCalled();
  });
});

describe('runJob: the cache re-check with the digest the node resolved', () => {
  const SHA = 'a'.repeat(64);
  const keyOf = (digest: string) => cacheKey({ spec: ENGINE, env: [], imageDigest: digest, sha256: SHA });
  const original = (over: Partial<JobEntity> = {}) =>
    ({
      id: randomUUID(),
      originalName: 'first.apk',
      status: 'completed',
      exitCode: 0,
      imageDigest: DIGEST,
      logTail: 'from the first run',
      resultName: 'first.filemeta.json',
      resultSize: 7,
      resultMime: 'application/json',
      ...over,
    }) as JobEntity;

  it('serves a completed run of the same key within the TTL: no container, its result and log shared, named after this upload', async () => {
    const t = await setup(writesResult('not this'));
    const first = original();
    t.blobs.blobs.set(`${first.id}/result`, Buffer.from('{"a":1}'));
    t.blobs.blobs.set(`${first.id}/log`, Buffer.from('first log'));
    t.jobs.findCached.mockResolvedValue(first);

    const before = Date.now();
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, sha256: SHA, cacheTtlSeconds: 3600 });

    expect(t.runtime.run).not.toHaveBeenCalled();
    expect(t.jobs.findCached).toHaveBeenCalledWith(keyOf(DIGEST), expect.any(Date));
    const since = t.jobs.findCached.mock.calls[0][1];
    expect(before - since.getTime()).toBeGreaterThanOrEqual(3600 * 1000 - 5);
    expect(run).toMatchObject({ cachedFrom: first.id, cacheKey: keyOf(DIGEST), logTail: 'from the first run' });
    expect(run.result).toEqual({ name: 'sample.filemeta.json', size: 7, mime: 'application/json' });
    expect(t.stored('result')).toBe('{"a":1}');
    expect(t.stored('log')).toBe('first log');
    expect(t.jobs.finalize).toHaveBeenCalledWith(
      expect.objectContaining({ status: 'completed', cachedFrom: first.id, cacheKey: keyOf(DIGEST) }),
    );
  });

  it('runs the engine, and records the key of what ran, when the cache is not to be asked (force, or a TTL of 0)', async () => {
    const t = await setup(writesResult('{"fresh":true}'));
    t.jobs.findCached.mockResolvedValue(original());

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, sha256: SHA });

    expect(t.jobs.findCached).not.toHaveBeenCalled();
    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    expect(run.cacheKey).toBe(keyOf(DIGEST));
    expect(run.cachedFrom).toBeUndefined();
    expect(t.jobs.finalize).toHaveBeenCalledWith(expect.objectContaining({ cacheKey: keyOf(DIGEST) }));
  });

  it('runs the engine when the cached result is gone from the store (retention removed it meanwhile)', async () => {
    const t = await setup(writesResult('{"fresh":true}'));
    t.jobs.findCached.mockResolvedValue(original());

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, sha256: SHA, cacheTtlSeconds: 60 });

    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    expect(run.cachedFrom).toBeUndefined();
    expect(t.stored('result')).toBe('{"fresh":true}');
  });

  it("stages a submission's shared input (inputFrom), not one of its own", async () => {
    const t = await setup(writesResult('{}'));
    const submission = randomUUID();
    t.blobs.blobs.set(`${submission}/input`, Buffer.from('the shared bytes'));
    t.blobs.blobs.delete(`${t.jobId}/input`);

    await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, inputFrom: submission });

    expect(t.runs[0].input).toBe('the shared bytes');
  });
});

describe('storeResult (workflows from before version 4)', () => {
  it("stores the job directory's result, named after the job's row when the input carries no name", async () => {
    const t = await setup(writesResult('%PDF-1.7 ...'));
    await t.scratch.stage(t.jobId, ENGINE.inputfilename, ENGINE.user, Readable.from([Buffer.from('in')]));
    writeFileSync(join(t.scratch.dir(t.jobId), 'result'), '{"a": 1}');

    const stored = await new MockActivityEnvironment().run(t.activities.storeResult, { jobId: t.jobId, engine: ENGINE });

    expect(stored).toEqual({ name: 'from-the-row.filemeta.json', size: 8, mime: 'application/json' });
    expect(t.stored('result')).toBe('{"a": 1}');
  });

  it('describes the result an earlier attempt already stored when the job directory has none', async () => {
    const t = await setup(writesResult('x'));
    t.blobs.blobs.set(`${t.jobId}/result`, Buffer.from('{"stored": "earlier"}'));

    const stored = await new MockActivityEnvironment().run(t.activities.storeResult, t.input);

    expect(stored).toEqual({ name: 'sample.filemeta.json', size: 21, mime: 'application/json' });
    expect(t.stored('result')).toBe('{"stored": "earlier"}');
  });

  it('fails NoResult when neither the job directory nor the store has a result', async () => {
    const t = await setup(writesResult('x'));
    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.storeResult, t.input));
    expect(failure).toMatchObject({ type: FAILURE_TYPES.noResult, nonRetryable: true });
  });
});

describe('runJob: which image runs (the registry rules)', () => {
  const AUTH: RegistryAuth = { username: 'menagerie', password: 'secret', serveraddress: '172.17.0.1:5000' };
  const NEW = 'sha256:' + 'e'.repeat(64);
  /** A node whose daemon has `local` (null: nothing) and whose registry says `remote` (or refuses with it). */
  async function node(local: ImageInfo | null, remote: string | RegistryError, options: { registry?: boolean; image?: string } = {}) {
    const t = await setup(writesResult('{}'), { registry: options.registry === false ? null : { auth: AUTH } });
    let present = local;
    t.runtime.inspectImage.mockImplementation(async () => present);
    t.runtime.registryDigest.mockImplementation(async () => {
      if (remote instanceof RegistryError) throw remote;
      return remote;
    });
    t.runtime.pullImage.mockImplementation(async () => {
      if (remote instanceof RegistryError) throw remote;
      present = { id: 'sha256:pulled', digest: remote };
    });
    const input = options.image ? { ...t.input, engine: { ...t.input.engine, image: options.image } } : t.input;
    return { ...t, input, run: (): Promise<JobRun> => new MockActivityEnvironment().run(t.activities.runJob, input) };
  }

  it('runs the present image when the registry says the tag is still that version, without pulling', async () => {
    const t = await node({ id: 'sha256:local', digest: DIGEST }, DIGEST);
    expect((await t.run()).imageDigest).toBe(DIGEST);
    expect(t.runtime.registryDigest).toHaveBeenCalledWith(ENGINE.image, AUTH);
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
  });

  it('pulls a version pushed under the same tag, and runs that one', async () => {
    const t = await node({ id: 'sha256:local', digest: DIGEST }, NEW);
    expect((await t.run()).imageDigest).toBe(NEW);
    expect(t.runtime.pullImage).toHaveBeenCalledWith(ENGINE.image, AUTH, expect.any(Function));
    expect(t.runs[0]!.request.image).toEqual({ id: 'sha256:pulled', digest: NEW });
  });

  it('pulls a missing image, and runs it', async () => {
    const t = await node(null, NEW);
    expect((await t.run()).imageDigest).toBe(NEW);
    expect(t.runtime.pullImage).toHaveBeenCalledTimes(1);
  });

  it('keeps running the present image while the registry does not answer', async () => {
    const t = await node({ id: 'sha256:local', digest: DIGEST }, new RegistryError('unreachable', ENGINE.image, 'connection refused'));
    expect((await t.run()).imageDigest).toBe(DIGEST);
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
  });

  it.each([
    [
      'wrong credentials',
      new RegistryError('unauthorized', ENGINE.image, 'unauthorized: authentication required'),
      /refused the credentials/,
    ],
    ['an unknown tag', new RegistryError('unknown', ENGINE.image, 'manifest unknown'), /has no image menagerie\/filemeta:1/],
    ['a registry that is down', new RegistryError('unreachable', ENGINE.image, 'connection refused'), /could not be reached/],
  ])('fails a job whose image is missing, once and with the reason, for %s', async (_what, refusal, reason) => {
    const t = await node(null, refusal);
    const failure = await failureOf(t.run());
    expect(failure.type).toBe(FAILURE_TYPES.imageNotFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^image not found: menagerie\/filemeta:1: /);
    expect(failure.message).toMatch(reason);
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
    expect(t.runs).toEqual([]);
  });

  it('runs a pinned version (image@sha256:...) as present, without asking the registry; pulls it when missing', async () => {
    const pinned = `menagerie/filemeta@${DIGEST}`;
    const present = await node({ id: 'sha256:local', digest: DIGEST }, NEW, { image: pinned });
    expect((await present.run()).imageDigest).toBe(DIGEST);
    expect(present.runtime.registryDigest).not.toHaveBeenCalled();
    expect(present.runtime.pullImage).not.toHaveBeenCalled();

    const missing = await node(null, DIGEST, { image: pinned });
    expect((await missing.run()).imageDigest).toBe(DIGEST);
    expect(missing.runtime.pullImage).toHaveBeenCalledWith(pinned, AUTH, expect.any(Function));
  });

  it('without a registry, a missing image fails the job at once, and nothing is asked of a registry', async () => {
    const t = await node(null, NEW, { registry: false });
    const failure = await failureOf(t.run());
    expect(failure.message).toBe('image not found: menagerie/filemeta:1');
    expect(t.runtime.registryDigest).not.toHaveBeenCalled();
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
  });
});

describe('recordJobStatus', () => {
  it('records the final status', async () => {
    const t = await setup(writesResult('x'));
    const outcome: FinalizeJobInput = { jobId: t.jobId, status: 'completed', exitCode: 0, node: 'node-a' };
    await new MockActivityEnvironment().run(t.activities.recordJobStatus, outcome);
    expect(t.jobs.finalize.mock.calls).toEqual([[outcome]]);
  });

  it('records a status PostgreSQL refuses for its text without the engine output', async () => {
    const t = await setup(writesResult('x'));
    t.jobs.finalize.mockRejectedValueOnce(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }));
    const outcome: FinalizeJobInput = { jobId: t.jobId, status: 'failed', error: 'engine said \u0000', logTail: 'bad \u0000 bytes' };

    await new MockActivityEnvironment().run(t.activities.recordJobStatus, outcome);

    expect(t.jobs.finalize.mock.calls[1]).toEqual([{ ...outcome, logTail: null, error: 'engine said ?' }]);
  });

  it('fails, to be retried, while the database is down', async () => {
    const t = await setup(writesResult('x'));
    t.jobs.finalize.mockRejectedValue(new Error('connect ECONNREFUSED'));
    await expect(
      new MockActivityEnvironment().run(t.activities.recordJobStatus, { jobId: t.jobId, status: 'completed' } as FinalizeJobInput),
    ).rejects.toThrow('ECONNREFUSED');
  });
});
