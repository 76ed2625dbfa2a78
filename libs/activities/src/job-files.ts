import type { Context } from '@temporalio/activity';
import { Readable } from 'node:stream';
import { FAILURE_TYPES, type EngineSpec, type FailureDetails, type StoredResult } from '@menagerie/core';
import { describeResult } from '@menagerie/storage';
import type { RunDeps } from './deps';
import { ownerOf } from './engine-policy';
import { fail } from './run-failures';
import { withStore } from './store-retry';

/** Copies the stored input (its own, or the submission's it reads: `inputOf`) into a fresh job directory on this node. */
export async function stage(deps: RunDeps, ctx: Context, jobId: string, engine: EngineSpec, inputOf: string = jobId): Promise<void> {
  const owner = await ownerOf(deps, engine);
  await withStore(deps.storeRetryMs, 'fetch the input', ctx, async () => {
    const input = await deps.blobs.open(inputOf, 'input');
    if (!input) fail(`the stored input of job ${jobId} is missing`, FAILURE_TYPES.inputMissing);
    await deps.scratch.stage(jobId, engine.inputfilename, owner, input.stream);
  });
}

/**
 * Puts `<jobdir>/result` into the store, named after the input and engine,
 * waiting out a store outage (each try reads the file from the start). A
 * symlink, device or directory is refused, never followed; so is a result
 * over resultLimitBytes. Null when there is no result file.
 */
export function storeResult(
  deps: RunDeps,
  ctx: Context,
  jobId: string,
  engine: EngineSpec,
  originalName: string,
  facts: FailureDetails = {},
): Promise<StoredResult | null> {
  return withStore(deps.storeRetryMs, 'store the result', ctx, async () => {
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

/** The engine's log, kept in the store whatever the run's outcome. */
export async function storeLog(deps: RunDeps, ctx: Context, jobId: string, engineLog: Buffer): Promise<void> {
  await withStore(deps.storeRetryMs, 'store the engine log', ctx, () =>
    deps.blobs.put(jobId, 'log', Readable.from([engineLog]), Number.MAX_SAFE_INTEGER),
  );
}

/** The name the job's input had, as the result's name is made from it. */
export async function nameOf(deps: RunDeps, jobId: string, originalName: string | undefined): Promise<string> {
  return originalName ?? (await deps.jobs.findById(jobId))?.originalName ?? 'input';
}
