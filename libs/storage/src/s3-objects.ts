import { isJobId, MenagerieError } from '@menagerie/core';
import { BLOB_NAMES, bundleFileName, type BlobKind } from './blob-store';

/** The S3 store's keys, and how it reads the SDK's errors. */

/** Objects under `jobs/<id>/`: with keyOf and bundleKeyOf, the only place that knows the key layout. */
export function prefixOf(jobId: string): string {
  if (!isJobId(jobId)) throw new Error(`not a job id: ${JSON.stringify(jobId)}`);
  return `jobs/${jobId}/`;
}

export function keyOf(jobId: string, kind: BlobKind): string {
  return `${prefixOf(jobId)}${BLOB_NAMES[kind]}`;
}

/** Data bundles' tars, `bundles/<hex>.tar`: outside `jobs/`, which listIds lists. */
export const BUNDLES_PREFIX = 'bundles/';

export function bundleKeyOf(digest: string): string {
  return `${BUNDLES_PREFIX}${bundleFileName(digest)}`;
}

export type SdkError = { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };

export function statusOf(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function notFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || statusOf(err) === 404;
}

/**
 * The service did not answer, or answered that it cannot serve now: no
 * connection, a timeout, a 5xx, throttling, or credentials it refuses.
 * Whatever else (our own refusal of an upload, a source that broke off) is
 * not the store's failure.
 */
export function unreachable(err: unknown): boolean {
  if (err instanceof MenagerieError) return false;
  const e = err as SdkError | undefined;
  const status = statusOf(err);
  if (status !== undefined) return status >= 500 || status === 429 || status === 401 || status === 403;
  // The SDK sent the request and had no answer (its $metadata counts the attempts).
  if (e?.$metadata) return true;
  if (e?.name === 'TimeoutError') return true;
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(e?.code ?? '');
}

export function reason(err: unknown): string {
  const e = err as SdkError | undefined;
  const status = statusOf(err);
  const what = e?.code ?? e?.name ?? 'Error';
  const message = (e?.message ?? '').replace(/^AWS SDK error wrapper for /, '');
  return `${status ? `HTTP ${status} ` : ''}${what}${message && message !== what ? `: ${message}` : ''}`;
}
