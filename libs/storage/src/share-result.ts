import type { BlobStore } from './blob-store';
import { resultNameFor } from './describe-result';

/** A completed job whose result another job may be served: a cache hit's source, or a follower's leader. */
export interface ResultSource {
  id: string;
  originalName: string;
  resultName: string | null;
}

/**
 * The one step of serving one job's result as another's: the source's result,
 * log and report (when it has one) are shared to `target` in the store, and the result is named after
 * the target's own upload (`uploadName`). Answers that name, or null when the
 * source has no result to share (none, or retention removed it): then nothing
 * was shared and the target must run.
 */
export async function shareResult(
  blobs: BlobStore,
  source: ResultSource,
  target: string,
  uploadName: string,
  engine: string,
): Promise<string | null> {
  if (!source.resultName || !(await blobs.share(source.id, target, 'result'))) return null;
  await blobs.share(source.id, target, 'log');
  await blobs.share(source.id, target, 'report');
  return resultNameFor(source, uploadName, engine);
}
