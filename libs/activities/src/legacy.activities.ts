import { Context, log } from '@temporalio/activity';
import type { Readable } from 'node:stream';
import type { EngineJobInput, EngineRun, FinalizeJobInput, StoredResult } from '@menagerie/core';
import { describeResult } from '@menagerie/storage';
import type { RunDeps } from './deps';
import { runEngineContainer } from './engine-run';
import { recordFinal } from './final-status';
import { nameOf, stage, storeResult } from './job-files';
import { noResult } from './run-failures';
import { boundedCleanup } from './store-retry';

/**
 * The activities of workflows started before version 4: three steps that meet
 * through the job directory on a shared disk, and a final step that also
 * cleans up. Kept while such workflows may still be open; see the replay tests.
 */
export function legacyActivities(deps: RunDeps) {
  return {
    async stageInput({ jobId, engine }: EngineJobInput): Promise<void> {
      await stage(deps, Context.current(), jobId, engine);
    },

    async runEngine({ jobId, engine }: EngineJobInput): Promise<EngineRun> {
      const ctx = Context.current();
      if (ctx.info.attempt > 1) {
        // A previous attempt whose worker died may have left its container running,
        // and whatever it wrote: the retry starts from a freshly staged job directory.
        const removed = await deps.runtime.removeJobContainers(jobId);
        if (removed.length)
          log.warn('removed containers left by an earlier attempt', { jobId, containerIds: removed, attempt: ctx.info.attempt });
        await stage(deps, ctx, jobId, engine);
      }
      deps.running.set(jobId, engine.name);
      const heartbeat = setInterval(() => ctx.heartbeat(), deps.heartbeatIntervalMs);
      try {
        return await runEngineContainer(deps, ctx, jobId, engine);
      } finally {
        clearInterval(heartbeat);
        deps.running.delete(jobId);
      }
    },

    async storeResult({ jobId, engine, originalName }: EngineJobInput): Promise<StoredResult> {
      const ctx = Context.current();
      const name = await nameOf(deps, jobId, originalName);
      const stored = await storeResult(deps, ctx, jobId, engine, name);
      if (stored) return stored;
      // Stored already, by an attempt whose completion was never recorded (its worker died).
      const earlier = await deps.blobs.open(jobId, 'result', { start: 0, end: 4095 });
      if (!earlier) return noResult(engine);
      const head = await readAll(earlier.stream);
      return describeResult(head, earlier.size, name, engine.name);
    },

    /**
     * Records the final status, then clears the job's containers and scratch
     * space. Retried until the database takes the status; a cleanup that fails
     * is logged and left to the node's sweep, never holding the status back.
     */
    async finalizeJob(input: FinalizeJobInput): Promise<void> {
      await recordFinal(deps, input);
      await boundedCleanup(deps.cleanupTimeoutMs, 'the job containers', () => deps.runtime.removeJobContainers(input.jobId), input.jobId);
      await boundedCleanup(deps.cleanupTimeoutMs, 'the job directory', () => deps.scratch.remove(input.jobId), input.jobId);
    },
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
