import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MenagerieError, isJobId } from '@menagerie/core';
import type { BlobKind, BlobStore, OpenBlob, StoredBlob } from './blob-store';
import { metered } from './metered';
import { PartBuffers } from './part-buffers';
import { BUNDLES_PREFIX, keyOf, notFound, prefixOf, reason, statusOf, unreachable, type SdkError } from './s3-objects';
import { S3Bundles } from './s3-bundles';
import { abortUploadsUnder, S3PartWriter } from './s3-part-writer';

/** Part buffers a process holds at most by default: 16 × 5 MiB = 80 MiB, whatever the clients do. */
export const PART_BUFFERS = 16;
/** How long a put waits for a part buffer before it fails UPLOADS_BUSY. */
const PART_BUFFER_WAIT_MS = 10_000;

export interface S3BlobStoreOptions {
  /** Empty: AWS itself, found from the region. */
  endpoint: string;
  region: string;
  bucket: string;
  /** Empty: the SDK's default credential chain (environment, profile, instance role). */
  accessKeyId: string;
  secretAccessKey: string;
  /** Most S3-compatible services (SeaweedFS among them) want bucket-in-path addressing. */
  forcePathStyle: boolean;
  /** Part size of multipart uploads; S3's minimum is 5 MiB. */
  partSizeBytes?: number;
  /** How many part buffers this process may hold at once (see PartBuffers); default PART_BUFFERS. */
  partBuffers?: number;
  /** How long a put waits for a part buffer (default 10 s). */
  partBufferWaitMs?: number;
}

/** How long a request may wait for a connection, and for an answer or any byte: a service that is gone fails in seconds, not minutes. */
const CONNECT_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_ATTEMPTS = 3;
/** check() answers /health: bounded below the request timeout, whatever the retries. */
const CHECK_TIMEOUT_MS = 5_000;

/**
 * A BlobStore on any S3-compatible service, through the AWS SDK v3. Puts are
 * streamed (multipart past one part), hashed and metered on the way, so
 * memory stays flat whatever the size.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly buffers: PartBuffers;
  /** Names the service in messages: its endpoint, or AWS's region. */
  private readonly where: string;
  /** Under `bundles/` (S3Bundles), beside `jobs/`, which listIds lists. */
  readonly bundles: S3Bundles;

  constructor(options: S3BlobStoreOptions, client?: S3Client) {
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: {
        connectionTimeout: CONNECT_TIMEOUT_MS,
        // Until the answer's headers: a service that takes a request and never answers.
        requestTimeout: REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
        // Any byte, either way: a service that stops mid-stream.
        socketTimeout: REQUEST_TIMEOUT_MS,
      },
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.accessKeyId ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
    };
    this.client = client ?? new S3Client(config);
    this.bucket = options.bucket;
    this.buffers = new PartBuffers(
      options.partBuffers ?? PART_BUFFERS,
      Math.max(5 * 1024 * 1024, options.partSizeBytes ?? 5 * 1024 * 1024),
      options.partBufferWaitMs ?? PART_BUFFER_WAIT_MS,
    );
    this.where = options.endpoint || `AWS region ${options.region}`;
    this.bundles = new S3Bundles(this.client, this.bucket, {
      put: (key, source, limit, doing) => this.putObject(key, source, limit, doing),
      deleteKeys: (keys) => this.deleteKeys(keys),
      translate: (err, doing) => this.translate(err, doing),
    });
  }

  /** A failure of the service as STORAGE_UNAVAILABLE, naming it; anything else as it is. */
  private translate(err: unknown, doing: string): unknown {
    if (!unreachable(err)) return err;
    return new MenagerieError(
      'STORAGE_UNAVAILABLE',
      `S3 storage at ${this.where} (bucket ${this.bucket}) failed while ${doing}: ${reason(err)}`,
    );
  }

  /** How many part buffers this store holds now (for tests and the bench). */
  get partBuffersInUse(): number {
    return this.buffers.inUse;
  }

  async put(jobId: string, kind: BlobKind, source: Readable, limit: number): Promise<StoredBlob> {
    return this.putObject(keyOf(jobId, kind), source, limit, `storing the ${kind} of job ${jobId}`);
  }

  /** A streamed put of `key` (a job's blob, a bundle's tar), metered and bounded; nothing is left by a failure. */
  private async putObject(key: string, source: Readable, limit: number, doing: string): Promise<StoredBlob> {
    const { meter, result } = metered(limit);
    const writer = new S3PartWriter(this.client, this.bucket, key, this.buffers);
    // The source is piped, not pipelined: a failure of the service or the limit must not destroy it, so that
    // the request it comes from can be read to its end and answered.
    const onSourceError = (err: Error) => meter.destroy(err);
    source.once('error', onSourceError);
    source.pipe(meter);
    try {
      await pipeline(meter, writer);
      return result();
    } catch (err) {
      source.unpipe(meter);
      // Past the limit, reading stops (as the file store's does); after a failure of the service, the
      // request is read to its end, so that it can be answered.
      if (err instanceof MenagerieError && err.code === 'UPLOAD_TOO_LARGE') source.destroy();
      else source.resume();
      await writer.abort().catch(() => undefined);
      await this.deleteKeys([key]).catch(() => undefined);
      throw this.translate(err, doing);
    } finally {
      source.off('error', onSourceError);
    }
  }

  async open(jobId: string, kind: BlobKind, range?: { start: number; end: number }): Promise<OpenBlob | null> {
    const key = keyOf(jobId, kind);
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      // Content-Range is "bytes a-b/total" for a range; the length is the whole size otherwise.
      const total = answer.ContentRange ? Number(answer.ContentRange.split('/')[1]) : Number(answer.ContentLength ?? 0);
      return { stream: answer.Body as Readable, size: total };
    } catch (err) {
      if (notFound(err)) return null;
      // A range past the end (416) reads nothing, as a file read there does; the size still answers.
      if (range && statusOf(err) === 416) return this.emptyRange(jobId, kind);
      throw this.translate(err, `reading the ${kind} of job ${jobId}`);
    }
  }

  private async emptyRange(jobId: string, kind: BlobKind): Promise<OpenBlob | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: keyOf(jobId, kind) }));
      return { stream: Readable.from([]), size: Number(head.ContentLength ?? 0) };
    } catch (err) {
      if (notFound(err)) return null;
      throw this.translate(err, `reading the ${kind} of job ${jobId}`);
    }
  }

  /** A server-side copy (results are at most resultLimitBytes, well under CopyObject's 5 GB): no byte passes through here. */
  async share(from: string, to: string, kind: BlobKind): Promise<boolean> {
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: keyOf(to, kind), CopySource: `${this.bucket}/${keyOf(from, kind)}` }),
      );
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw this.translate(err, `sharing the ${kind} of job ${from}`);
    }
  }

  async remove(jobId: string): Promise<void> {
    const prefix = prefixOf(jobId);
    try {
      const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix }));
      await this.deleteKeys((listed.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
    } catch (err) {
      throw this.translate(err, `removing job ${jobId}`);
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    if (!keys.length) return;
    await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    );
  }

  async abortStaleUploads(before: Date): Promise<number> {
    try {
      let aborted = 0;
      for (const prefix of ['jobs/', BUNDLES_PREFIX]) aborted += await abortUploadsUnder(this.client, this.bucket, prefix, before);
      return aborted;
    } catch (err) {
      throw this.translate(err, 'aborting stale multipart uploads');
    }
  }

  /**
   * A page of the ids with an object, in key order after `after`: one
   * delimited listing (one entry per id, `jobs/<id>/`), never the bucket.
   */
  async listIds(after: string | null, limit: number): Promise<{ ids: string[]; next: string | null }> {
    try {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: 'jobs/',
          Delimiter: '/',
          MaxKeys: limit,
          // Past every key of `after` ("0" sorts after its "/"), before the next id's.
          ...(after !== null ? { StartAfter: `${prefixOf(after).slice(0, -1)}0` } : {}),
        }),
      );
      const ids = (page.CommonPrefixes ?? []).map((p) => (p.Prefix ?? '').split('/')[1] ?? '').filter(isJobId);
      return { ids, next: page.IsTruncated && ids.length ? ids[ids.length - 1] : null };
    } catch (err) {
      throw this.translate(err, 'listing the stored jobs');
    }
  }

  /** The newest LastModified of the job's objects; null when it has none. */
  async lastWritten(jobId: string): Promise<Date | null> {
    try {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefixOf(jobId) }));
      const times = (page.Contents ?? []).map((o) => o.LastModified?.getTime() ?? Date.now());
      return times.length ? new Date(Math.max(...times)) : null;
    } catch (err) {
      throw this.translate(err, `listing the objects of job ${jobId}`);
    }
  }

  /** Makes the bucket when there is none (a fresh local service); fails naming the service when it cannot be used. */
  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!notFound(err)) throw this.unusable(err);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as SdkError).name;
      // Another process made it meanwhile.
      if (name === 'BucketAlreadyOwnedByYou') return;
      throw this.unusable(err);
    }
  }

  private unusable(err: unknown): MenagerieError {
    return new MenagerieError('STORAGE_UNAVAILABLE', `S3 storage at ${this.where} bucket ${this.bucket} cannot be used: ${reason(err)}`);
  }

  /** One HeadBucket, bounded: what /health asks. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    } catch (err) {
      const why = notFound(err)
        ? 'the bucket does not exist'
        : (err as SdkError).name === 'AbortError'
          ? `no answer within ${CHECK_TIMEOUT_MS} ms`
          : reason(err);
      throw new MenagerieError('STORAGE_UNAVAILABLE', `S3 storage at ${this.where} bucket ${this.bucket} does not answer: ${why}`);
    }
  }

  /** Lets a store that is done with the service close its sockets. */
  async close(): Promise<void> {
    this.client.destroy();
  }
}
