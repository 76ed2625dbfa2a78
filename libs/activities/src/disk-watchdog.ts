import type { JobDirUsage, Scratch } from '@menagerie/storage';

/** Heartbeats in a row that find the job directory full before the engine is stopped. */
const FULL_SAMPLES_TO_STOP = 3;

/**
 * Samples a job directory's usage while its engine runs, and stops the engine
 * (aborts `stopper` with 'disk') once it has stayed full for a few samples in
 * a row. The kernel already refuses what does not fit; stopping an engine that
 * stays against the limit ends a run that can only fail. (Briefly near it is no fault.)
 */
export function watchJobDir(scratch: Scratch, jobId: string, stopper: AbortController, everyMs: number) {
  let sampling = false;
  let fullSamples = 0;
  let filled: JobDirUsage | null = null;
  const timer = setInterval(() => {
    if (sampling || stopper.signal.aborted) return;
    sampling = true;
    void scratch
      .usage(jobId)
      .then((usage) => {
        fullSamples = usage.full ? fullSamples + 1 : 0;
        if (fullSamples >= FULL_SAMPLES_TO_STOP) {
          filled = usage;
          stopper.abort('disk');
        }
      })
      .catch(() => undefined)
      .finally(() => (sampling = false));
  }, everyMs);
  return {
    stop: () => clearInterval(timer),
    /** The usage that made the watchdog stop the engine; null when it did not. */
    filled: (): JobDirUsage | null => filled,
  };
}
