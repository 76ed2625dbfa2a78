import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isJobId } from '@menagerie/core';
import type { BlobKind, BlobStore, OpenBlob, StoredBlob } from './blob-store';
import { metered } from './metered';

export interface S3BlobStoreOptions {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Most S3-compatible services (SeaweedFS among them) want bucket-in-path addressing. */
  forcePathStyle: boolean;
  /** Part size of multipart uploads; S3's minimum is 5 MiB. */
  partSizeBytes?: number;
}

const KIND_NAMES: Record<BlobKind, string> = { input: 'input', result: 'result', log: 'engine.log' };

/** Objects under `jobs/<id>/`: the only place that knows the key layout. */
function prefixOf(jobId: string): string {
  if (!isJobId(jobId)) throw new Error(`not a job id: ${JSON.stringify(jobId)}`);
  return `jobs/${jobId}/`;
}

function keyOf(jobId: string, kind: BlobKind): string {
  return `${prefixOf(jobId)}${KIND_NAMES[kind]}`;
}

function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * A BlobStore on any S3-compatible service, through the AWS SDK v3. Puts are
 * streamed (multipart past one part), hashed and metered on the way, so
 * memory stays flat whatever the size.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly partSize: number;

  constructor(options: S3BlobStoreOptions, client?: S3Client) {
    const config: S3ClientConfig = {
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    };
    this.client = client ?? new S3Client(config);
    this.bucket = options.bucket;
    this.partSize = Math.max(5 * 1024 * 1024, options.partSizeBytes ?? 8 * 1024 * 1024);
  }

  async put(jobId: string, kind: BlobKind, source: Readable, limit: number): Promise<StoredBlob> {
    const { meter, result } = metered(limit);
    const body = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: keyOf(jobId, kind), Body: body },
      partSize: this.partSize,
      queueSize: 2,
      // A failed multipart upload is aborted, so no parts are left to pay for.
      leavePartsOnError: false,
    });
    const sent = upload.done();
    try {
      await pipeline(source, meter, body);
      await sent;
      return result();
    } catch (err) {
      source.resume(); // keep the request draining so that it can be answered
      await upload.abort().catch(() => undefined);
      await sent.catch(() => undefined);
      // A single-part put may have landed just before the failure.
      await this.deleteKeys([keyOf(jobId, kind)]).catch(() => undefined);
      throw err;
    }
  }

  async open(jobId: string, kind: BlobKind, range?: { start: number; end: number }): Promise<OpenBlob | null> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: keyOf(jobId, kind), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      // Content-Range is "bytes a-b/total" for a range; the length is the whole size otherwise.
      const total = answer.ContentRange ? Number(answer.ContentRange.split('/')[1]) : Number(answer.ContentLength ?? 0);
      return { stream: answer.Body as Readable, size: total };
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async remove(jobId: string): Promise<void> {
    const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefixOf(jobId) }));
    await this.deleteKeys((listed.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    if (!keys.length) return;
    await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
  }

  async abortStaleUploads(before: Date): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: 'jobs/', KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= before) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      if (!page.IsTruncated) return aborted;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Lets a store that is done with the service close its sockets. */
  close(): void {
    this.client.destroy();
  }
}
