import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  FAILURE_TYPES,
  type EngineJobInput,
  type EngineRun,
  type FailureDetails,
  type FinalizeJobInput,
  type StoredResult,
} from '@menagerie/core';
import type { JobRepository } from '@menagerie/db';
import { parseRunflags, RunflagError } from '@menagerie/engines';
import { RuntimeError, type ContainerRuntime, type ImageInfo, type RegistryAuth } from '@menagerie/runtime';
import type { JobDirUsage, JobStore } from '@menagerie/storage';

export interface ActivityDeps {
  store: JobStore;
  runtime: ContainerRuntime;
  jobs: Pick<JobRepository, 'findById' | 'markRunning' | 'finalize'>;
  allowRunflags: readonly string[];
  logLimitBytes: number;
  logTailBytes: number;
  resultLimitBytes: number;
  heartbeatIntervalMs?: number;
  /** How long each cleanup after the final status may take before it is left to the retention sweep (10 s). */
  cleanupTimeoutMs?: number;
  /** Set when missing images may be pulled. */
  registry?: { auth: RegistryAuth | null } | null;
  /**
   * The environment (NAME=value) this worker's configuration gives an engine,
   * or undefined for an engine it doesn't know. Workflow inputs carry only the
   * names: values are often secrets and must stay out of Temporal's history.
   */
  engineEnv(engine: string): readonly string[] | undefined;
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

  /** A missing image is pulled when a registry is configured; otherwise the job fails once, without retries. */
  async function pull(ref: string, ctx: Context): Promise<ImageInfo> {
    if (!deps.registry) fail(`image not found: ${ref}`, FAILURE_TYPES.imageNotFound);
    log.info('pulling image', { image: ref });
    try {
      await deps.runtime.pullImage(ref, deps.registry.auth, (line) => {
        ctx.heartbeat();
        log.info('pull progress', { image: ref, progress: line });
      });
    } catch (err) {
      const message = err instanceof RuntimeError ? err.message : String(err);
      fail(`image not found: ${ref} (pull failed: ${message})`, FAILURE_TYPES.imageNotFound);
    }
    const image = await deps.runtime.inspectImage(ref);
    if (!image) fail(`image not found: ${ref} (not present after pull)`, FAILURE_TYPES.imageNotFound);
    return image;
  }

  /**
   * A cleanup after the final status: bounded, so that a stalled dockerd or
   * umount can't keep the workflow open, and never failing the activity.
   */
  async function cleanup(what: string, step: () => Promise<unknown>, jobId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still not done after ${cleanupTimeoutMs} ms`)), cleanupTimeoutMs);
    });
    try {
      await Promise.race([step(), late]);
    } catch (err) {
      log.warn(`could not remove ${what}; the retention sweep will`, { jobId, error: String(err) });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The final status, once; a value PostgreSQL refuses is recorded without the engine's output. */
  async function recordFinal(input: FinalizeJobInput): Promise<void> {
    try {
      await deps.jobs.finalize(input);
    } catch (err) {
      // A value PostgreSQL refuses (SQLSTATE class 22) would otherwise be retried forever.
      if (!String((err as { code?: unknown }).code ?? '').startsWith('22')) throw err;
      log.warn('final status refused by the database; recording it without the engine output', { jobId: input.jobId });
      await deps.jobs.finalize({ ...input, logTail: null, error: input.error ? input.error.replace(/[^\x20-\x7e]/g, '?') : null });
    }
  }

  return {
    async stageInput({ jobId, engine }: EngineJobInput): Promise<void> {
      if (!(await deps.store.hasInput(jobId))) {
        fail(`the stored input of job ${jobId} is missing`, FAILURE_TYPES.inputMissing);
      }
      await deps.store.stage(jobId, engine.inputfilename, engine.user);
    },

    async runEngine({ jobId, engine }: EngineJobInput): Promise<EngineRun> {
      const ctx = Context.current();
      if (ctx.info.attempt > 1) {
        // A previous attempt whose worker died may have left its container running,
        // and whatever it wrote: the retry starts from a freshly staged job directory.
        const removed = await deps.runtime.removeJobContainers(jobId);
        if (removed.length) log.warn('removed containers left by an earlier attempt', { jobId, containerIds: removed, attempt: ctx.info.attempt });
        await deps.store.stage(jobId, engine.inputfilename, engine.user);
      }

      let policy;
      try {
        // The worker re-checks the flags itself: it is the side that runs containers.
        policy = parseRunflags(engine.runflags, deps.allowRunflags, { user: engine.user });
      } catch (err) {
        if (err instanceof RunflagError) fail(`engine ${engine.name}: ${err.message}`, FAILURE_TYPES.engineFailed);
        throw err;
      }
      const env = resolveEnv(engine.name, policy.env, deps.engineEnv(engine.name));
      const image = (await deps.runtime.inspectImage(engine.image)) ?? (await pull(engine.image, ctx));

      // "running" is informative; the final status is what must be recorded. So the run
      // neither waits for this write nor fails with it: a database that is down or stalled
      // is finalizeJob's to wait for. (The write never overwrites a final status.)
      void deps.jobs.markRunning(jobId, engine.image, image.digest).catch((err: unknown) => {
        log.warn('could not mark the job running; continuing', { jobId, error: String(err) });
      });
      // Stops the container on cancellation, or when it fills its job directory past the limit.
      const stopper = new AbortController();
      const onCancel = () => stopper.abort('cancelled');
      ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
      // A cancel may have arrived already, while the image was pulled: 'abort' fires only once.
      if (ctx.cancellationSignal.aborted) onCancel();
      let watching = false;
      let filled: JobDirUsage | null = null;
      let fullSamples = 0;
      const heartbeat = setInterval(() => {
        ctx.heartbeat();
        if (watching || stopper.signal.aborted) return;
        watching = true;
        void deps.store
          .jobDirUsage(jobId)
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
            hostDir: deps.store.jobDir(jobId),
            policy,
            timeoutMs: engine.timeout * 1000,
            logLimitBytes: deps.logLimitBytes,
          },
          stopper.signal,
        );
      } finally {
        clearInterval(heartbeat);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
      }
      await deps.store.writeLog(jobId, outcome.log);
      // Whatever the outcome, the final status records what ran and when (markRunning is best-effort).
      const facts = { imageDigest: image.digest, startedAt: outcome.startedAt?.toISOString() ?? null };
      const logTail = outcome.logTail(deps.logTailBytes);

      // A run that filled its job directory failed, whatever the engine exited with: a write of
      // its was refused (ENOSPC), and what it handed back can't be trusted to be whole. (So a
      // limit set too tight for an engine shows up as this, by name, never as a silent cut.)
      const killedForDisk = outcome.cancelled && stopper.signal.reason === 'disk';
      const full: JobDirUsage | null = killedForDisk
        ? filled
        : outcome.cancelled
          ? null
          : await deps.store.jobDirUsage(jobId).then(
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
    },

    async storeResult({ jobId, engine, originalName }: EngineJobInput): Promise<StoredResult> {
      const name = originalName ?? (await deps.jobs.findById(jobId))?.originalName ?? 'input';
      const stored = await deps.store.collectResult(jobId, name, engine.name, deps.resultLimitBytes);
      switch (stored) {
        case 'missing':
          return fail(`engine finished but wrote no result file at ${engine.mountpoint}/result`, FAILURE_TYPES.noResult);
        case 'not-a-regular-file':
          return fail(
            `engine's ${engine.mountpoint}/result is not a regular file (a symlink, directory or device); it was not followed`,
            FAILURE_TYPES.noResult,
          );
        case 'too-large':
          return fail(`engine's result is larger than the limit of ${deps.resultLimitBytes} bytes`, FAILURE_TYPES.noResult);
        default:
          return stored;
      }
    },

    /**
     * Records the final status, then clears the job's containers and scratch
     * space. Retried until the database takes the status; a cleanup that fails
     * is logged and left to the retention sweep, never holding the status back.
     */
    async finalizeJob(input: FinalizeJobInput): Promise<void> {
      await recordFinal(input);
      await cleanup('the job containers', () => deps.runtime.removeJobContainers(input.jobId), input.jobId);
      await cleanup('the job directory', () => deps.store.removeJobDir(input.jobId), input.jobId);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
