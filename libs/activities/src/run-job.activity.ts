import { Context, log } from '@temporalio/activity';
import type { EngineJobInput, JobRun } from '@menagerie/core';
import { cachedRun, keyFor } from './cached-run';
import type { RunDeps } from './deps';
import { policyOf } from './engine-policy';
import { runEngineContainer } from './engine-run';
import { recordCompletedNow, recordedRun } from './final-status';
import { resolveImage } from './image-resolver';
import { bundlesOf, holdBundles, type HeldBundles } from './job-bundles';
import { nameOf, stage, storeResult } from './job-files';
import { readReport, storeReport } from './job-report';
import { noResult } from './run-failures';
import { boundedCleanup, withStore } from './store-retry';

/**
 * The whole run on this node (workflow version 4): fetch the input from
 * the store into a fresh scratch directory (and the engine's data bundles
 * into the node's read-only copies), run the container, put the
 * result and the log into the store, and clear the scratch and the
 * container whatever happened. A retry (after this node died, say) may run
 * on any node, from the start.
 */
export async function runJob(deps: RunDeps, input: EngineJobInput): Promise<JobRun> {
  const { jobId, engine, originalName } = input;
  const ctx = Context.current();
  deps.running.set(jobId, engine.name);
  // Fetching and storing a large file takes time too: the heartbeat covers the whole run.
  const heartbeat = setInterval(() => ctx.heartbeat(), deps.heartbeatIntervalMs);
  let ranClean = false;
  let bundles: HeldBundles | undefined;
  try {
    if (ctx.info.attempt > 1) {
      // An earlier attempt ran and recorded the job, then its node died before Temporal heard: that run stands.
      const recorded = await recordedRun(deps, jobId);
      if (recorded) return recorded;
      // A previous attempt whose node died may have left its container running (on a shared daemon).
      const removed = await deps.runtime.removeJobContainers(jobId);
      if (removed.length)
        log.warn('removed containers left by an earlier attempt', { jobId, containerIds: removed, attempt: ctx.info.attempt });
    }
    const { env } = policyOf(deps, engine); // a refused flag fails the job before anything is fetched
    const image = await resolveImage(deps, engine, ctx);
    const key = await keyFor(deps, input, env, image);
    const name = await nameOf(deps, jobId, originalName);
    const cacheOn = Boolean(key && input.cacheTtlSeconds);
    const cached = cacheOn ? await withStore(deps.storeRetryMs, 'look in the cache', ctx, () => cachedRun(deps, input, key!, name)) : null;
    if (cacheOn) deps.observer?.cacheLookup(engine.name, cached ? 'hit' : 'miss');
    if (cached) {
      ranClean = true;
      await recordCompletedNow(deps, cached, jobId);
      return cached;
    }
    // The versions the job was given at upload, on this node, read-only: every attempt mounts the same ones.
    bundles = await holdBundles(deps, ctx, engine.name, bundlesOf(engine));
    await stage(deps, ctx, jobId, engine, input.inputFrom ?? jobId);
    const run = await runEngineContainer(deps, ctx, jobId, engine, image, bundles.mounts);
    ranClean = true;
    // A refused result still leaves a row that says what ran, when and where.
    const facts = { imageDigest: run.imageDigest, startedAt: run.startedAt, node: deps.node, exitCode: run.exitCode, logTail: run.logTail };
    // The report is checked first: a bad one fails the job with nothing of it stored.
    const report = await readReport(deps, jobId, facts);
    const result = (await storeResult(deps, ctx, jobId, engine, name, facts)) ?? noResult(engine, facts);
    if (report) result.report = await storeReport(deps, ctx, jobId, report);
    const done: JobRun = { ...run, node: deps.node, result, ...(key ? { cacheKey: key } : {}) };
    await recordCompletedNow(deps, done, jobId);
    return done;
  } finally {
    clearInterval(heartbeat);
    bundles?.release();
    // The runtime removes the container it ran; only a run that broke off may have left one.
    if (!ranClean) await boundedCleanup(deps.cleanupTimeoutMs, 'the job containers', () => deps.runtime.removeJobContainers(jobId), jobId);
    // Not waited for: the result is stored, and unmounting (10-20 ms) is no part of the job. A retry's stage
    // and the node's sweep wait for a removal under way; the worker waits for them all before it exits.
    void boundedCleanup(deps.cleanupTimeoutMs, 'the job directory', () => deps.scratch.remove(jobId), jobId);
    deps.running.delete(jobId);
  }
}
