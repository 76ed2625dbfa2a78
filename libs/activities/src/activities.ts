import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Readable } from 'node:stream';
import {
  completedJob,
  FAILURE_TYPES,
  hostUser,
  MenagerieError,
  settledWithin,
  type EngineJobInput,
  type EngineRun,
  type EngineSpec,
  type FailureDetails,
  type FinalizeJobInput,
  type JobRun,
  type JobStatus,
  type StoredResult,
} from '@menagerie/core';
import type { JobRepository } from '@menagerie/db';
import { cacheKey, parseRunflags, RunflagError, type ContainerPolicy } from '@menagerie/engines';
import { isPinned, RegistryError, type ContainerRuntime, type ImageInfo, type RegistryAuth } from '@menagerie/runtime';
import { describeResult, resultNameFor, type BlobStore, type JobDirUsage, type Scratch } from '@menagerie/storage';

/** The jobs this worker process is running now, by id: what its node reports, and what its sweep keeps. */
export type RunningJobs = Map<string, string>;

/**
 * What the activities tell the worker's metrics (WorkerMetrics in
 * @menagerie/metrics has these methods). Each end is reported once: by the
 * write of the final status that changed the row.
 */
export interface RunObserver {
  /** The re-check before a run, with the key computed from the digest this node resolved. */
  cacheLookup(engine: string, outcome: 'hit' | 'miss'): void;
  /** An engine's container ran, whatever its outcome, for this long. */
  containerRan(engine: string, seconds: number): void;
  /** This worker recorded a job's final status. */
  jobEnded(job: { engine: string; status: JobStatus; queuedSeconds: number | null }): void;
}

/** How long runJob waits for its early record of a completed job before it returns anyway. */
const EARLY_RECORD_MS = 2000;

export interface ActivityDeps {
  /** Where inputs, results and logs last: shared by every node. */
  blobs: BlobStore;
  /** This node's job directories. */
  scratch: Scratch;
  /** This node's name, recorded on the jobs it runs. */
  node: string;
  running: RunningJobs;
  runtime: ContainerRuntime;
  jobs: Pick<JobRepository, 'findById' | 'markRunning' | 'finalize' | 'findCached'>;
  allowRunflags: readonly string[];
  logLimitBytes: number;
  logTailBytes: number;
  resultLimitBytes: number;
  heartbeatIntervalMs?: number;
  /** How long each cleanup after the final status may take before it is left to the retention sweep (10 s). */
  cleanupTimeoutMs?: number;
  /** How long a run waits for the store to answer again before its attempt fails and is retried (2 minutes). */
  storeRetryMs?: number;
  /** Set when missing images may be pulled. */
  registry?: { auth: RegistryAuth | null } | null;
  /**
   * The environment (NAME=value) this worker's configuration gives an engine,
   * or undefined for an engine it doesn't know. Workflow inputs carry only the
   * names: values are often secrets and must stay out of Temporal's history.
   */
  engineEnv(engine: string): readonly string[] | undefined;
  /** Told of cache re-checks, container runs and the final statuses this worker records (the metrics). */
  observer?: RunObserver;
}

/** Heartbeats in a row that find the job directory full before the engine is stopped. */
const FULL_SAMPLES_TO_STOP = 3;

function fail(message: string, type: string, details: FailureDetails = {}): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true, details: [details] });
}

/** Names the limit the engine ran into: its bytes, or the files and directories they allow. */
function jobDirFullMessage(usage: JobDirUsage, killed: boolean): string {
  const what =
    usage.full === 'inodes'
      ? `engine filled its job directory with the most files and directories it may hold (${usage.inodeLimit}, set by jobDirLimitBytes ${usage.limitBytes})`
      : `engine filled its job directory to its limit of ${usage.limitBytes} bytes (jobDirLimitBytes)`;
  return killed ? `${what} and was killed` : what;
}

/**
 * Fills in the values of `-e NAME` entries from the worker's configuration.
 * An entry that already has a value came from a workflow started before the
 * values were left out of workflow inputs, and is used as it is.
 */
export function resolveEnv(engine: string, env: readonly string[], configured: readonly string[] | undefined): string[] {
  return env.map((entry) => {
    if (entry.includes('=')) return entry;
    const value = configured?.find((c) => c.startsWith(`${entry}=`));
    if (value === undefined) {
      fail(
        configured
          ? `engine ${engine}: environment variable ${entry} has no value in this worker's engines.json`
          : `engine ${engine} is not configured on this worker, so the value of its environment variable ${entry} is unknown`,
        FAILURE_TYPES.engineFailed,
      );
    }
    return value;
  });
}

export function createActivities(deps: ActivityDeps) {
  const heartbeatEvery = deps.heartbeatIntervalMs ?? 1000;
  const cleanupTimeoutMs = deps.cleanupTimeoutMs ?? 10_000;
  const storeRetryMs = deps.storeRetryMs ?? 120_000;

  /** Pulls the image (a registry is configured); a failed pull fails the job once, without retries. */
  async function pull(ref: string, auth: RegistryAuth | null, ctx: Context): Promise<ImageInfo> {
    log.info('pulling image', { image: ref });
    try {
      await deps.runtime.pullImage(ref, auth, (line) => {
        ctx.heartbeat();
        log.info('pull progress', { image: ref, progress: line });
      });
    } catch (err) {
      fail(`image not found: ${ref} (pull failed: ${err instanceof Error ? err.message : String(err)})`, FAILURE_TYPES.imageNotFound);
    }
    const image = await deps.runtime.inspectImage(ref);
    if (!image) fail(`image not found: ${ref} (not present after pull)`, FAILURE_TYPES.imageNotFound);
    return image;
  }

  /**
   * The image a job runs, as this node's daemon has it: the one rule of which version runs.
   * - No registry: the local image, else the job fails (image not found).
   * - Pinned (`image@sha256:...`): the local copy of that version, else it is pulled.
   * - A tag, with a registry: the registry says what the tag is now, so a version pushed
   *   under the same tag runs at the next job. A local image of that digest runs; otherwise
   *   it is pulled. While the registry refuses or does not answer, an image present here
   *   keeps working; a missing one fails the job with the registry's reason.
   */
  async function resolveImage(engine: EngineSpec, ctx: Context): Promise<ImageInfo> {
    const ref = engine.image;
    const local = await deps.runtime.inspectImage(ref);
    const registry = deps.registry;
    if (!registry) return local ?? fail(`image not found: ${ref}`, FAILURE_TYPES.imageNotFound);
    if (isPinned(ref)) return local ?? (await pull(ref, registry.auth, ctx));
    let wanted: string;
    try {
      wanted = await deps.runtime.registryDigest(ref, registry.auth);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err; // this node's daemon not answering: the attempt is retried
      if (local) {
        log.warn('the registry did not say what the tag is now; running the image present here', {
          image: ref,
          digest: local.digest,
          error: err.message,
        });
        return local;
      }
      return fail(`image not found: ${ref}: ${err.message}`, FAILURE_TYPES.imageNotFound);
    }
    return local?.digest === wanted ? local : await pull(ref, registry.auth, ctx);
  }

  /**
   * A cleanup: bounded, so that a stalled dockerd or umount can't keep the
   * workflow open, and never failing the activity.
   */
  async function cleanup(what: string, step: () => Promise<unknown>, jobId: string): Promise<void> {
    let failure: unknown;
    const done = Promise.resolve()
      .then(step)
      .catch((err: unknown) => void (failure = err));
    if (!(await settledWithin(done, cleanupTimeoutMs))) failure = new Error(`still not done after ${cleanupTimeoutMs} ms`);
    if (failure) log.warn(`could not remove ${what}; the retention sweep will`, { jobId, error: String(failure) });
  }

  /**
   * A step that needs the store, retried while the store is unavailable (an
   * S3 outage) for up to storeRetryMs: the job waits rather than fails, and
   * its container need not run again. Past that, the attempt fails and
   * Temporal retries it. A cancellation stops the waiting.
   */
  async function withStore<T>(what: string, ctx: Context, step: () => Promise<T>): Promise<T> {
    const giveUpAt = Date.now() + storeRetryMs;
    for (let delay = 1000; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        return await step();
      } catch (err) {
        const unavailable = err instanceof MenagerieError && err.code === 'STORAGE_UNAVAILABLE';
        // A cancel that came while the store call was in flight ends the run as cancelled, not as a store failure to retry.
        if (unavailable && ctx.cancellationSignal.aborted) throw new CancelledFailure('job cancelled while waiting for the store');
        if (!unavailable || Date.now() + delay > giveUpAt) throw err;
        log.warn(`the store is unavailable; waiting to ${what}`, { error: err.message, retryInMs: delay });
        await ctx.sleep(delay).catch(() => undefined);
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('job cancelled while waiting for the store');
      }
    }
  }

  /** The final status, once; a value PostgreSQL refuses is recorded without the engine's output. */
  async function recordFinal(input: FinalizeJobInput): Promise<void> {
    let ended;
    try {
      ended = await deps.jobs.finalize(input);
    } catch (err) {
      // A value PostgreSQL refuses (SQLSTATE class 22) would otherwise be retried forever.
      if (!String((err as { code?: unknown }).code ?? '').startsWith('22')) throw err;
      log.warn('final status refused by the database; recording it without the engine output', { jobId: input.jobId });
      ended = await deps.jobs.finalize({ ...input, logTail: null, error: input.error ? input.error.replace(/[^\x20-\x7e]/g, '?') : null });
    }
    // Null (or nothing, from an older repository): the job had ended already, and was counted then.
    if (ended) {
      const queuedSeconds = ended.startedAt ? (ended.startedAt.getTime() - ended.createdAt.getTime()) / 1000 : null;
      deps.observer?.jobEnded({ engine: ended.engine, status: input.status, queuedSeconds });
    }
  }

  /** Copies the stored input (its own, or the submission's it reads: `inputOf`) into a fresh job directory on this node. */
  async function stage(ctx: Context, jobId: string, engine: EngineSpec, inputOf: string = jobId): Promise<void> {
    const owner = await ownerOf(engine);
    await withStore('fetch the input', ctx, async () => {
      const input = await deps.blobs.open(inputOf, 'input');
      if (!input) fail(`the stored input of job ${jobId} is missing`, FAILURE_TYPES.inputMissing);
      await deps.scratch.stage(jobId, engine.inputfilename, owner, input.stream);
    });
  }

  /**
   * Who owns the engine's job directory on the host: its user, remapped when
   * the daemon runs with --userns-remap, unless the engine opts out of the
   * user namespace (--userns=host). A user the namespace does not map fails the job.
   */
  async function ownerOf(engine: EngineSpec): Promise<string> {
    const ns = policyOf(engine).policy.usernsMode === 'host' ? null : await deps.runtime.userNamespace();
    try {
      return hostUser(engine.user, ns);
    } catch (err) {
      return fail(`engine ${engine.name}: ${(err as Error).message}`, FAILURE_TYPES.engineFailed);
    }
  }

  /** The worker re-checks the flags itself: it is the side that runs containers. */
  function policyOf(engine: EngineSpec): { policy: ContainerPolicy; env: string[] } {
    let policy: ContainerPolicy;
    try {
      policy = parseRunflags(engine.runflags, deps.allowRunflags, { user: engine.user });
    } catch (err) {
      if (err instanceof RunflagError) fail(`engine ${engine.name}: ${err.message}`, FAILURE_TYPES.engineFailed);
      throw err;
    }
    return { policy, env: resolveEnv(engine.name, policy.env, deps.engineEnv(engine.name)) };
  }

  /**
   * Runs the engine's container on the staged job directory and keeps its
   * log; resolves only when it exited 0, and fails naming why otherwise.
   */
  async function execute(ctx: Context, jobId: string, engine: EngineSpec, resolved?: ImageInfo): Promise<EngineRun> {
    const { policy, env } = policyOf(engine);
    const image = resolved ?? (await resolveImage(engine, ctx));

    // "running" is informative; the final status is what must be recorded. So the run
    // neither waits for this write nor fails with it: a database that is down or stalled
    // is the final step's to wait for. (The write never overwrites a final status.)
    void deps.jobs.markRunning(jobId, engine.image, image.digest, deps.node).catch((err: unknown) => {
      log.warn('could not mark the job running; continuing', { jobId, error: String(err) });
    });
    // Stops the container on cancellation, or when it fills its job directory past the limit.
    const stopper = new AbortController();
    const onCancel = () => stopper.abort('cancelled');
    ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    // A cancel may have arrived already, while the input was fetched or the image pulled: 'abort' fires only once.
    if (ctx.cancellationSignal.aborted) onCancel();
    let watching = false;
    let filled: JobDirUsage | null = null;
    let fullSamples = 0;
    const watchdog = setInterval(() => {
      if (watching || stopper.signal.aborted) return;
      watching = true;
      void deps.scratch
        .usage(jobId)
        .then((usage) => {
          // The kernel already refuses what does not fit; stopping an engine that stays
          // against the limit ends a run that can only fail. (Briefly near it is no fault.)
          fullSamples = usage.full ? fullSamples + 1 : 0;
          if (fullSamples >= FULL_SAMPLES_TO_STOP) {
            filled = usage;
            stopper.abort('disk');
          }
        })
        .catch(() => undefined)
        .finally(() => (watching = false));
    }, heartbeatEvery);
    let outcome;
    const ranFrom = Date.now();
    try {
      outcome = await deps.runtime.run(
        {
          jobId,
          engine: engine.name,
          image,
          cmd: engine.cmd,
          user: engine.user,
          env: [...env, `MENAGERIE_INPUT=${engine.inputfilename}`],
          mountpoint: engine.mountpoint,
          hostDir: deps.scratch.dir(jobId),
          policy,
          timeoutMs: engine.timeout * 1000,
          logLimitBytes: deps.logLimitBytes,
        },
        stopper.signal,
      );
    } finally {
      clearInterval(watchdog);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
    }
    // A run the runtime could not even start (it threw) ran no container.
    deps.observer?.containerRan(engine.name, (Date.now() - ranFrom) / 1000);
    const engineLog = outcome.log;
    await withStore('store the engine log', ctx, () => deps.blobs.put(jobId, 'log', Readable.from([engineLog]), Number.MAX_SAFE_INTEGER));
    // Whatever the outcome, the final status records what ran, when and where (markRunning is best-effort).
    const facts = { imageDigest: image.digest, startedAt: outcome.startedAt?.toISOString() ?? null, node: deps.node };
    const logTail = outcome.logTail(deps.logTailBytes);

    // A run that filled its job directory failed, whatever the engine exited with: a write of
    // its was refused (ENOSPC), and what it handed back can't be trusted to be whole. (So a
    // limit set too tight for an engine shows up as this, by name, never as a silent cut.)
    const killedForDisk = outcome.cancelled && stopper.signal.reason === 'disk';
    const full: JobDirUsage | null = killedForDisk
      ? filled
      : outcome.cancelled
        ? null
        : await deps.scratch.usage(jobId).then(
            (usage) => (usage.full ? usage : null),
            () => null,
          );
    if (full) {
      fail(jobDirFullMessage(full, killedForDisk), FAILURE_TYPES.engineFailed, {
        ...facts,
        ...(killedForDisk ? {} : { exitCode: outcome.exitCode }),
        logTail,
      });
    }
    if (outcome.cancelled) throw new CancelledFailure('job cancelled; its container was killed and removed');
    if (outcome.timedOut) {
      fail(`engine exceeded its timeout of ${engine.timeout}s and was killed`, FAILURE_TYPES.engineTimeout, { ...facts, logTail });
    }
    if (outcome.oomKilled) {
      fail(`engine was killed for exceeding its memory limit of ${policy.memoryBytes} bytes`, FAILURE_TYPES.engineFailed, {
        ...facts,
        exitCode: outcome.exitCode,
        logTail,
      });
    }
    if (outcome.exitCode !== 0) {
      fail(`engine exited with code ${outcome.exitCode}`, FAILURE_TYPES.engineFailed, { ...facts, exitCode: outcome.exitCode, logTail });
    }
    return { exitCode: 0, ...facts, logTail };
  }

  /**
   * Puts `<jobdir>/result` into the store, named after the input and engine,
   * waiting out a store outage (each try reads the file from the start). A
   * symlink, device or directory is refused, never followed; so is a result
   * over resultLimitBytes. Null when there is no result file.
   */
  function storeResult(
    ctx: Context,
    jobId: string,
    engine: EngineSpec,
    originalName: string,
    facts: FailureDetails = {},
  ): Promise<StoredResult | null> {
    return withStore('store the result', ctx, async () => {
      const opened = await deps.scratch.openResult(jobId, deps.resultLimitBytes);
      switch (opened) {
        case 'missing':
          return null;
        case 'not-a-regular-file':
          return fail(
            `engine's ${engine.mountpoint}/result is not a regular file (a symlink, directory or device); it was not followed`,
            FAILURE_TYPES.noResult,
            facts,
          );
        case 'too-large':
          return fail(`engine's result is larger than the limit of ${deps.resultLimitBytes} bytes`, FAILURE_TYPES.noResult, facts);
      }
      try {
        await deps.blobs.put(jobId, 'result', opened.stream, deps.resultLimitBytes);
      } catch (err) {
        await opened.close().catch(() => undefined);
        throw err;
      }
      return describeResult(opened.head, opened.size, originalName, engine.name);
    });
  }

  /**
   * A completed run is recorded here, at once, rather than only by the workflow's next task: the job's
   * waiters hear of it some 20 ms sooner. Best-effort and bounded (the workflow's recordJobStatus, which
   * records the very same row, is what guarantees it); the first final status written wins.
   */
  async function recordCompletedNow(run: JobRun, jobId: string): Promise<void> {
    const recorded = recordFinal(completedJob(jobId, run)).catch((err: unknown) => {
      log.warn('could not record the completed job yet; the workflow will', { jobId, error: String(err) });
    });
    await settledWithin(recorded, EARLY_RECORD_MS);
  }

  /** The run an earlier attempt recorded as completed, as runJob returned it; null when there is none. */
  async function recordedRun(jobId: string): Promise<JobRun | null> {
    const row = await deps.jobs.findById(jobId);
    if (row?.status !== 'completed' || !row.resultName) return null;
    log.info('an earlier attempt already completed this job; not running it again', { jobId });
    return {
      exitCode: row.exitCode ?? 0,
      imageDigest: row.imageDigest,
      startedAt: row.startedAt?.toISOString() ?? null,
      logTail: row.logTail ?? '',
      node: row.node ?? deps.node,
      result: { name: row.resultName, size: row.resultSize ?? 0, mime: row.resultMime ?? 'application/octet-stream' },
    };
  }

  /**
   * The cache's re-check, with the digest this node resolved (the API's
   * lookup used the one the nodes reported, when they agreed): a completed run
   * of the same key within the TTL is shared to this job instead of running.
   */
  async function cachedRun(input: EngineJobInput, key: string, originalName: string): Promise<JobRun | null> {
    const since = new Date(Date.now() - (input.cacheTtlSeconds ?? 0) * 1000);
    const hit = await deps.jobs.findCached(key, since);
    if (!hit?.resultName || !(await deps.blobs.share(hit.id, input.jobId, 'result'))) return null;
    await deps.blobs.share(hit.id, input.jobId, 'log');
    log.info('served from the cache; no container ran', { jobId: input.jobId, cachedFrom: hit.id });
    return {
      exitCode: hit.exitCode ?? 0,
      imageDigest: hit.imageDigest,
      startedAt: null,
      logTail: hit.logTail ?? '',
      node: deps.node,
      result: {
        name: resultNameFor(hit, originalName, input.engine.name),
        size: hit.resultSize ?? 0,
        mime: hit.resultMime ?? 'application/octet-stream',
      },
      cacheKey: key,
      cachedFrom: hit.id,
    };
  }

  /** The cache key of what this run would run; null without the input's sha256 (a workflow from before the cache whose row is gone). */
  async function keyFor(input: EngineJobInput, env: readonly string[], image: ImageInfo): Promise<string | null> {
    const sha256 = input.sha256 ?? (await deps.jobs.findById(input.jobId))?.sha256;
    return sha256 ? cacheKey({ spec: input.engine, env, imageDigest: image.digest, sha256 }) : null;
  }

  function noResult(engine: EngineSpec, facts: FailureDetails = {}): never {
    return fail(`engine finished but wrote no result file at ${engine.mountpoint}/result`, FAILURE_TYPES.noResult, facts);
  }

  async function nameOf(jobId: string, originalName: string | undefined): Promise<string> {
    return originalName ?? (await deps.jobs.findById(jobId))?.originalName ?? 'input';
  }

  return {
    /**
     * The whole run on this node (workflow version 4): fetch the input from
     * the store into a fresh scratch directory, run the container, put the
     * result and the log into the store, and clear the scratch and the
     * container whatever happened. A retry (after this node died, say) may run
     * on any node, from the start.
     */
    async runJob(input: EngineJobInput): Promise<JobRun> {
      const { jobId, engine, originalName } = input;
      const ctx = Context.current();
      deps.running.set(jobId, engine.name);
      // Fetching and storing a large file takes time too: the heartbeat covers the whole run.
      const heartbeat = setInterval(() => ctx.heartbeat(), heartbeatEvery);
      let ranClean = false;
      try {
        if (ctx.info.attempt > 1) {
          // An earlier attempt ran and recorded the job, then its node died before Temporal heard: that run stands.
          const recorded = await recordedRun(jobId);
          if (recorded) return recorded;
          // A previous attempt whose node died may have left its container running (on a shared daemon).
          const removed = await deps.runtime.removeJobContainers(jobId);
          if (removed.length)
            log.warn('removed containers left by an earlier attempt', { jobId, containerIds: removed, attempt: ctx.info.attempt });
        }
        const { env } = policyOf(engine); // a refused flag fails the job before anything is fetched
        const image = await resolveImage(engine, ctx);
        const key = await keyFor(input, env, image);
        const name = await nameOf(jobId, originalName);
        const cached = key && input.cacheTtlSeconds ? await withStore('look in the cache', ctx, () => cachedRun(input, key, name)) : null;
        if (key && input.cacheTtlSeconds) deps.observer?.cacheLookup(engine.name, cached ? 'hit' : 'miss');
        if (cached) {
          ranClean = true;
          await recordCompletedNow(cached, jobId);
          return cached;
        }
        await stage(ctx, jobId, engine, input.inputFrom ?? jobId);
        const run = await execute(ctx, jobId, engine, image);
        ranClean = true;
        // A refused result still leaves a row that says what ran, when and where.
        const facts = {
          imageDigest: run.imageDigest,
          startedAt: run.startedAt,
          node: deps.node,
          exitCode: run.exitCode,
          logTail: run.logTail,
        };
        const result = (await storeResult(ctx, jobId, engine, name, facts)) ?? noResult(engine, facts);
        const done: JobRun = { ...run, node: deps.node, result, ...(key ? { cacheKey: key } : {}) };
        await recordCompletedNow(done, jobId);
        return done;
      } finally {
        clearInterval(heartbeat);
        // The runtime removes the container it ran; only a run that broke off may have left one.
        if (!ranClean) await cleanup('the job containers', () => deps.runtime.removeJobContainers(jobId), jobId);
        // Not waited for: the result is stored, and unmounting (10-20 ms) is no part of the job. A retry's stage
        // and the node's sweep wait for a removal under way; the worker waits for them all before it exits.
        void cleanup('the job directory', () => deps.scratch.remove(jobId), jobId);
        deps.running.delete(jobId);
      }
    },

    /** Records the final status (version 4 on): the database only, on whatever worker runs the workflow. */
    async recordJobStatus(input: FinalizeJobInput): Promise<void> {
      await recordFinal(input);
    },

    // Workflows started before version 4 run these three steps, which meet through the job directory on a shared disk.

    async stageInput({ jobId, engine }: EngineJobInput): Promise<void> {
      await stage(Context.current(), jobId, engine);
    },

    async runEngine({ jobId, engine }: EngineJobInput): Promise<EngineRun> {
      const ctx = Context.current();
      if (ctx.info.attempt > 1) {
        // A previous attempt whose worker died may have left its container running,
        // and whatever it wrote: the retry starts from a freshly staged job directory.
        const removed = await deps.runtime.removeJobContainers(jobId);
        if (removed.length)
          log.warn('removed containers left by an earlier attempt', { jobId, containerIds: removed, attempt: ctx.info.attempt });
        await stage(ctx, jobId, engine);
      }
      deps.running.set(jobId, engine.name);
      const heartbeat = setInterval(() => ctx.heartbeat(), heartbeatEvery);
      try {
        return await execute(ctx, jobId, engine);
      } finally {
        clearInterval(heartbeat);
        deps.running.delete(jobId);
      }
    },

    async storeResult({ jobId, engine, originalName }: EngineJobInput): Promise<StoredResult> {
      const ctx = Context.current();
      const name = await nameOf(jobId, originalName);
      const stored = await storeResult(ctx, jobId, engine, name);
      if (stored) return stored;
      // Stored already, by an attempt whose completion was never recorded (its worker died).
      const earlier = await deps.blobs.open(jobId, 'result', { start: 0, end: 4095 });
      if (!earlier) return noResult(engine);
      const head = await readAll(earlier.stream);
      return describeResult(head, earlier.size, name, engine.name);
    },

    /**
     * Records the final status, then clears the job's containers and scratch
     * space (workflows from before version 4). Retried until the database
     * takes the status; a cleanup that fails is logged and left to the
     * node's sweep, never holding the status back.
     */
    async finalizeJob(input: FinalizeJobInput): Promise<void> {
      await recordFinal(input);
      await cleanup('the job containers', () => deps.runtime.removeJobContainers(input.jobId), input.jobId);
      await cleanup('the job directory', () => deps.scratch.remove(input.jobId), input.jobId);
    },
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export type Activities = ReturnType<typeof createActivities>;
