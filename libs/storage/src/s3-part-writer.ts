import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Writable } from 'node:stream';
import type { PartBuffers } from './part-buffers';

/**
 * Streams bytes into one S3 object with at most one part's worth of them in
 * memory: what fits in one part goes up as a single PutObject; past that, as
 * a multipart upload whose parts are sent one at a time from one buffer,
 * reused. The writer applies backpressure: while a part is being sent, it
 * takes no more bytes. After an error, `abort()` removes the unfinished
 * multipart upload, once no part is in flight any more.
 */
/** Up to this much, an object is kept as the chunks that came: most uploads are small, and never take a part's buffer. */
const SMALL_BYTES = 256 * 1024;

export class S3PartWriter extends Writable {
  private head: Buffer[] = [];
  private headLength = 0;
  private part: Buffer | null = null;
  private partLength = 0;
  private uploadId: string | null = null;
  private readonly done: CompletedPart[] = [];
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly buffers: PartBuffers,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  private get partSize(): number {
    return this.buffers.size;
  }

  /** Gives the part's buffer back, once: when the object is complete, or the writer is destroyed (a failed put). */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Not while a part is still being sent from it.
    void this.inflight.then(() => this.giveBack());
    callback(error);
  }

  private giveBack(): void {
    const part = this.part;
    this.part = null;
    if (part) this.buffers.release(part);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  private async take(chunk: Buffer): Promise<void> {
    let offset = 0;
    if (!this.part) {
      if (this.headLength + chunk.length <= SMALL_BYTES) {
        this.head.push(chunk);
        this.headLength += chunk.length;
        return;
      }
      // From the process's bounded pool: waits for one (backpressure on the client), or fails UPLOADS_BUSY.
      this.part = await this.buffers.acquire();
      for (const piece of this.head) this.partLength += piece.copy(this.part, this.partLength);
      this.head = [];
    }
    while (offset < chunk.length) {
      const copied = chunk.copy(this.part, this.partLength, offset, Math.min(chunk.length, offset + this.partSize - this.partLength));
      this.partLength += copied;
      offset += copied;
      if (this.partLength === this.partSize) await this.sendPart();
    }
  }

  private async sendPart(): Promise<void> {
    if (!this.uploadId) {
      const created = await this.track(this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key })));
      if (!created.UploadId) throw new Error('S3 gave no upload id for a multipart upload');
      this.uploadId = created.UploadId;
    }
    const UploadId: string = this.uploadId;
    const PartNumber = this.done.length + 1;
    const body = this.part!.subarray(0, this.partLength);
    const sent = await this.track(
      this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId, PartNumber, Body: body, ContentLength: body.length }),
      ),
    );
    this.done.push({ ETag: sent.ETag, PartNumber });
    this.partLength = 0;
  }

  private async finish(): Promise<void> {
    if (!this.part) {
      const body = this.head.length === 1 ? this.head[0] : Buffer.concat(this.head, this.headLength);
      await this.track(
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length })),
      );
      return;
    }
    if (!this.uploadId) {
      // Larger than small, smaller than a part: one PutObject still.
      const body = this.part.subarray(0, this.partLength);
      await this.track(
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length })),
      );
      this.giveBack();
      return;
    }
    if (this.partLength > 0) await this.sendPart();
    this.giveBack();
    const UploadId: string = this.uploadId;
    await this.track(
      this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId, MultipartUpload: { Parts: this.done } }),
      ),
    );
    this.uploadId = null;
  }

  private track<T>(request: Promise<T>): Promise<T> {
    this.inflight = request.catch(() => undefined);
    return request;
  }

  async abort(): Promise<void> {
    await this.inflight;
    const uploadId = this.uploadId;
    if (!uploadId) return;
    this.uploadId = null;
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }));
  }
}

/** Aborts the multipart uploads under `prefix` started before `before` and never finished (a process died mid-put); returns how many. */
export async function abortUploadsUnder(client: S3Client, bucket: string, prefix: string, before: Date): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
    );
    for (const u of page.Uploads ?? []) {
      if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= before) continue;
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      aborted++;
    }
    if (!page.IsTruncated) return aborted;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}
