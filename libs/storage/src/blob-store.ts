import type { Readable } from 'node:stream';
import { isBundleDigest } from '@menagerie/engines';

/** What a job keeps in the store: its input, its result, its engine's log, and its report (menagerie.report/1). */
export type BlobKind = 'input' | 'result' | 'log' | 'report';

/** The name each kind is kept under in a job's directory or prefix: for the stores' implementations only. */
export const BLOB_NAMES: Record<BlobKind, string> = { input: 'input', result: 'result', log: 'engine.log', report: 'report.json' };

/** The name a bundle's tar is kept under, `<hex>.tar` for `sha256:<hex>`: for the stores' implementations only. */
export function bundleFileName(digest: string): string {
  if (!isBundleDigest(digest)) throw new Error(`not a bundle digest: ${JSON.stringify(digest)}`);
  return `${digest.slice('sha256:'.length)}.tar`;
}

export interface StoredBlob {
  size: number;
  sha256: string;
}

export interface OpenBlob {
  stream: Readable;
  /** The blob's whole size, whatever range was asked for. */
  size: number;
}

/**
 * The data bundles' canonical tars, named by digest (`sha256:<hex>`, see
 * @menagerie/engines): kept apart from the jobs' blobs, so retention's
 * listIds and orphan sweep never meet one. A digest names its content, so a
 * put of one already kept writes the same bytes again.
 */
export interface BundleBlobs {
  /** As BlobStore.put: streamed, bounded by `limit` (UPLOAD_TOO_LARGE), nothing left by a failure. */
  put(digest: string, source: Readable, limit: number): Promise<StoredBlob>;
  /** The tar; null when there is none. */
  open(digest: string): Promise<OpenBlob | null>;
  exists(digest: string): Promise<boolean>;
  /** Removing what isn't there is no error. */
  remove(digest: string): Promise<void>;
}

/**
 * Where the bytes that must last are kept, named by job id and kind. Only an
 * implementation knows a path or a key layout. Every failure of the backend
 * is thrown as a MenagerieError (STORAGE_UNAVAILABLE, STORAGE_FULL,
 * UPLOAD_TOO_LARGE) or an Error to retry.
 */
export interface BlobStore {
  /**
   * Streams `source` in, hashing it, and stops past `limit` bytes with
   * UPLOAD_TOO_LARGE. On any failure nothing is left behind: no object and
   * no unfinished multipart upload.
   */
  put(jobId: string, kind: BlobKind, source: Readable, limit: number): Promise<StoredBlob>;
  /** The blob, or a range of it (`end` inclusive, as HTTP ranges); null when there is none. */
  open(jobId: string, kind: BlobKind, range?: { start: number; end: number }): Promise<OpenBlob | null>;
  /**
   * Gives job `to` the blob `from` keeps (a cached result, its log), without
   * the bytes passing through this process: a hard link on a filesystem, a
   * server-side copy in S3. Each then lasts as long as its own job does.
   * False when `from` has no such blob (retention removed it).
   */
  share(from: string, to: string, kind: BlobKind): Promise<boolean>;
  /** The data bundles, by digest. */
  readonly bundles: BundleBlobs;
  /** Removes everything kept for a job; removing what isn't there is no error. */
  remove(jobId: string): Promise<void>;
  /** Aborts multipart uploads (of jobs and bundles) started before `before` and never finished (a process that died mid-upload); returns how many. */
  abortStaleUploads(before: Date): Promise<number>;
  /**
   * One page of the ids with anything stored (an input, a result, a log), in
   * id order after `after` (null: from the first), at most `limit`, with the
   * id the next page starts after (null once this is the last). Memory is a
   * page, however much is stored. What has no row is the caller's to decide
   * (retention's orphan sweep).
   */
  listIds(after: string | null, limit: number): Promise<{ ids: string[]; next: string | null }>;
  /** When anything of the job's was last written (a put under way counts where the store can see it); null when it has nothing. */
  lastWritten(jobId: string): Promise<Date | null>;
  /** Makes the store ready (the directory, or the bucket when it may be created); fails with a message an operator can act on. */
  init(): Promise<void>;
  /** Resolves when the backend answers (GET /health), throws STORAGE_UNAVAILABLE naming why otherwise. */
  check(): Promise<void>;
  /** Releases sockets or handles. */
  close(): Promise<void>;
}
