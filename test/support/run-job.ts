import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type ActivityDeps, type RunningJobs } from '@menagerie/activities';
import { MenagerieError, type UserNamespace, type EngineJobInput, type EngineSpec, type FinalStatusRecord } from '@menagerie/core';
import type { ContainerRuntime, ImageInfo, RegistryAuth, RunOutcome, RunRequest } from '@menagerie/runtime';
import type { JobEntity } from '@menagerie/db';
import { Scratch, type BlobKind, type BlobStore, type BundleBlobs, type OpenBlob, type StoredBlob } from '@menagerie/storage';
import { tempDir } from './temp-dir';

/**
 * The activities of one node's run (runJob and the steps of older workflows)
 * on a real scratch directory, with the store in memory and a fake engine in
 * place of Docker: `setup(engine)` gives them, and what they were asked.
 */

export const ENGINE: EngineSpec = {
  name: 'filemeta',
  image: 'menagerie/filemeta:1',
  cmd: ['analyse'],
  mountpoint: '/job',
  inputfilename: 'sample',
  user: '1000',
  timeout: 60,
  runflags: [],
};
export const DIGEST = 'sha256:' + 'd'.repeat(64);
export const STARTED = new Date('2026-12-01T10:00:00.000Z');
export const ENGINE_LOG = 'reading sample\nwrote result\n';
export const unavailable = () => new MenagerieError('STORAGE_UNAVAILABLE', 'S3 storage at http://s3 failed: connect ECONNREFUSED');

/** A BlobStore in memory; `failPut`/`failOpen` may throw instead, to play an outage. */
export class MemoryBlobs implements BlobStore {
  readonly blobs = new Map<string, Buffer>();
  failPut: (kind: BlobKind) => Error | null = () => null;
  /** May hold the answer back, as a store call in flight during an outage does. */
  failOpen: (kind: BlobKind) => Error | null | Promise<Error | null> = () => null;
  readonly puts: BlobKind[] = [];
  readonly opens: BlobKind[] = [];
  /** Bundle tars by digest. */
  readonly bundleTars = new Map<string, Buffer>();
  readonly bundles: BundleBlobs = {
    put: async (digest, source) => {
      const bytes = Buffer.concat(await source.toArray());
      this.bundleTars.set(digest, bytes);
      return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    open: async (digest) => {
      const bytes = this.bundleTars.get(digest);
      return bytes ? { stream: Readable.from([bytes]), size: bytes.length } : null;
    },
    exists: async (digest) => this.bundleTars.has(digest),
    remove: async (digest) => void this.bundleTars.delete(digest),
  };

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
export type Engine = (dir: string) => Partial<RunOutcome>;

/** A ContainerRuntime whose run() calls `engine` on the job directory, recording what it was asked and what it saw. */
export function fakeRuntime(engine: Engine, onRun: () => void) {
  /** `input`: null for a run with none (a datacheck's). */
  const runs: Array<{ request: RunRequest; input: string | null }> = [];
  const runtime: jest.Mocked<ContainerRuntime> = {
    ping: jest.fn(async () => undefined),
    userNamespace: jest.fn(async (): Promise<UserNamespace | null> => null),
    inspectImage: jest.fn(async (_ref: string): Promise<ImageInfo | null> => ({ id: 'sha256:local', digest: DIGEST })),
    pullImage: jest.fn(async (_ref: string, _auth: RegistryAuth | null, _onProgress: (line: string) => void) => undefined),
    registryDigest: jest.fn(async (_ref: string, _auth: RegistryAuth | null): Promise<string> => DIGEST),
    run: jest.fn(async (request: RunRequest, _signal: AbortSignal): Promise<RunOutcome> => {
      onRun();
      const inputFile = join(request.hostDir, ENGINE.inputfilename);
      runs.push({ request, input: existsSync(inputFile) ? readFileSync(inputFile, 'utf8') : null });
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

export const writesResult =
  (bytes: string | Buffer): Engine =>
  (dir) => {
    writeFileSync(join(dir, 'result'), bytes);
    return {};
  };

export async function setup(engine: Engine, options: Partial<ActivityDeps> = {}) {
  const jobId = randomUUID();
  const blobs = new MemoryBlobs();
  blobs.blobs.set(`${jobId}/input`, Buffer.from('the sample bytes'));
  const scratch = new Scratch(tempDir('menagerie-runjob-'), {
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
    recordFinalStatus: jest.fn(async (_input: FinalStatusRecord) => undefined),
    findCached: jest.fn(async (_key: string, _since: Date): Promise<JobEntity | null> => null),
  };
  const tags = { replace: jest.fn(async (_jobId: string, _tags: ReadonlyArray<{ type: string; value: string }>) => undefined) };
  const deps = {
    blobs,
    scratch,
    node: 'node-a',
    running,
    runtime,
    jobs,
    tags,
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
  return { jobId, blobs, scratch, runtime, runs, running, runningDuringRun, jobs, tags, activities, input, stored };
}

export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

export const facts = (exitCode: number) => ({
  imageDigest: DIGEST,
  startedAt: STARTED.toISOString(),
  node: 'node-a',
  exitCode,
  logTail: ENGINE_LOG,
});
