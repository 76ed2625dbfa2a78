import { Context } from '@temporalio/activity';
import type { DataCheckInput, DataCheckOutcome } from '@menagerie/core';
import type { RunDeps } from './deps';
import { ownerOf, policyOf } from './engine-policy';
import { resolveImage } from './image-resolver';
import { holdBundles, type HeldBundles } from './job-bundles';
import { boundedCleanup } from './store-retry';

/**
 * An engine's datacheck of a pushed bundle version, on a node that serves
 * the engine: the version synced as a job would (from the store, into the
 * node's read-only copy), the check run in the engine's image, contained as
 * a job is (its runflags policy, its user, its timeout) in an empty job
 * directory of its own, the bundle mounted at its target. Answers how the
 * check ended and what it printed; a refused version's copy is removed.
 */
export async function checkDataBundle(deps: RunDeps, input: DataCheckInput): Promise<DataCheckOutcome> {
  const { checkId, engine } = input;
  const ctx = Context.current();
  // Reported, and kept by the node's sweep, as a job running here.
  deps.running.set(checkId, engine.name);
  const heartbeat = setInterval(() => ctx.heartbeat(), deps.heartbeatIntervalMs);
  let bundles: HeldBundles | undefined;
  let accepted = false;
  try {
    const { policy, env } = policyOf(deps, engine);
    const image = await resolveImage(deps, engine, ctx);
    bundles = await holdBundles(deps, ctx, engine.name, { [input.bundle]: { target: input.target, digest: input.digest } });
    await deps.scratch.stage(checkId, engine.inputfilename, await ownerOf(deps, engine), null);
    const outcome = await deps.runtime.run(
      {
        jobId: checkId,
        engine: engine.name,
        image,
        cmd: input.cmd,
        user: engine.user,
        env,
        mountpoint: engine.mountpoint,
        hostDir: deps.scratch.dir(checkId),
        dataMounts: bundles.mounts,
        policy,
        timeoutMs: engine.timeout * 1000,
        logLimitBytes: deps.logLimitBytes,
      },
      ctx.cancellationSignal,
    );
    accepted = outcome.exitCode === 0 && !outcome.timedOut && !outcome.cancelled && !outcome.oomKilled;
    return {
      accepted,
      exitCode: outcome.exitCode,
      timedOut: outcome.timedOut,
      oomKilled: outcome.oomKilled,
      log: outcome.logTail(deps.logTailBytes),
      node: deps.node,
    };
  } finally {
    clearInterval(heartbeat);
    bundles?.release();
    await boundedCleanup(deps.cleanupTimeoutMs, 'the check directory', () => deps.scratch.remove(checkId), checkId);
    if (!accepted && bundles)
      await boundedCleanup(deps.cleanupTimeoutMs, 'the refused bundle', () => deps.scratch.bundles.discard(input.digest), checkId);
    deps.running.delete(checkId);
  }
}
