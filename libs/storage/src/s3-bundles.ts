import { HeadObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { BundleBlobs, OpenBlob, StoredBlob } from './blob-store';
import { bundleKeyOf, notFound } from './s3-objects';

/** What S3Bundles borrows of its store: the streamed put, deletes, and how a failure of the service is told. */
export interface S3StoreParts {
  put(key: string, source: Readable, limit: number, doing: string): Promise<StoredBlob>;
  deleteKeys(keys: string[]): Promise<void>;
  translate(err: unknown, doing: string): unknown;
}

/** The S3 store's bundles: `bundles/<hex>.tar` (bundleKeyOf), beside `jobs/`. */
export class S3Bundles implements BundleBlobs {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly store: S3StoreParts,
  ) {}

  async put(digest: string, source: Readable, limit: number): Promise<StoredBlob> {
    return this.store.put(bundleKeyOf(digest), source, limit, `storing the data bundle ${digest}`);
  }

  async open(digest: string): Promise<OpenBlob | null> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bundleKeyOf(digest) }));
      return { stream: answer.Body as Readable, size: Number(answer.ContentLength ?? 0) };
    } catch (err) {
      if (notFound(err)) return null;
      throw this.store.translate(err, `reading the data bundle ${digest}`);
    }
  }

  async exists(digest: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: bundleKeyOf(digest) }));
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw this.store.translate(err, `looking for the data bundle ${digest}`);
    }
  }

  async remove(digest: string): Promise<void> {
    try {
      await this.store.deleteKeys([bundleKeyOf(digest)]);
    } catch (err) {
      throw this.store.translate(err, `removing the data bundle ${digest}`);
    }
  }
}
