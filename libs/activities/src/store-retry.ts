import { log, type Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { MenagerieError, settledWithin } from '@menagerie/core';

/**
 * A step that needs the store, retried while the store is unavailable (an
 * S3 outage) for up to `retryMs`: the job waits rather than fails, and its
 * container need not run again. Past that, the attempt fails and Temporal
 * retries it. A cancellation stops the waiting.
 */
export async function withStore<T>(retryMs: number, what: string, ctx: Context, step: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + retryMs;
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

/**
 * A cleanup: bounded, so that a stalled dockerd or umount can't keep the
 * workflow open, and never failing the activity.
 */
export async function boundedCleanup(timeoutMs: number, what: string, step: () => Promise<unknown>, jobId: string): Promise<void> {
  let failure: unknown;
  const done = Promise.resolve()
    .then(step)
    .catch((err: unknown) => void (failure = err));
  if (!(await settledWithin(done, timeoutMs))) failure = new Error(`still not done after ${timeoutMs} ms`);
  if (failure) log.warn(`could not remove ${what}; the retention sweep will`, { jobId, error: String(failure) });
}
