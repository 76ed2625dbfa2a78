import { log, type Context } from '@temporalio/activity';
import type { EngineRun, EngineSpec } from '@menagerie/core';
import type { ImageInfo, RunRequest } from '@menagerie/runtime';
import type { JobDirUsage } from '@menagerie/storage';
import type { RunDeps } from './deps';
import { watchJobDir } from './disk-watchdog';
import { policyOf } from './engine-policy';
import { resolveImage } from './image-resolver';
import { storeLog } from './job-files';
import { failUnlessClean } from './run-failures';

/**
 * Runs the engine's container on the staged job directory and keeps its
 * log; resolves only when it exited 0, and fails naming why otherwise.
 */
export async function runEngineContainer(
  deps: RunDeps,
  ctx: Context,
  jobId: string,
  engine: EngineSpec,
  resolved?: ImageInfo,
  dataMounts: RunRequest['dataMounts'] = [],
): Promise<EngineRun> {
  const { policy, env } = policyOf(deps, engine);
  const image = resolved ?? (await resolveImage(deps, engine, ctx));

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
  const watchdog = watchJobDir(deps.scratch, jobId, stopper, deps.heartbeatIntervalMs);
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
        dataMounts,
        policy,
        timeoutMs: engine.timeout * 1000,
        logLimitBytes: deps.logLimitBytes,
      },
      stopper.signal,
    );
  } finally {
    watchdog.stop();
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
  }
  // A run the runtime could not even start (it threw) ran no container.
  deps.observer?.containerRan(engine.name, (Date.now() - ranFrom) / 1000);
  await storeLog(deps, ctx, jobId, outcome.log);
  // Whatever the outcome, the final status records what ran, when and where (markRunning is best-effort).
  const facts = { imageDigest: image.digest, startedAt: outcome.startedAt?.toISOString() ?? null, node: deps.node };
  const logTail = outcome.logTail(deps.logTailBytes);

  const killedForDisk = outcome.cancelled && stopper.signal.reason === 'disk';
  const full: JobDirUsage | null = killedForDisk
    ? watchdog.filled()
    : outcome.cancelled
      ? null
      : await deps.scratch.usage(jobId).then(
          (usage) => (usage.full ? usage : null),
          () => null,
        );
  failUnlessClean({ outcome, engine, policy, facts, logTail, full, killedForDisk });
  return { exitCode: 0, ...facts, logTail };
}
