import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs.blob-store';
import { S3BlobStore, type S3BlobStoreOptions } from './s3.blob-store';

export interface BlobStoreSettings {
  kind: 'fs' | 's3';
  /** The file store's root (absolute); `store/` under it holds the blobs. */
  dir: string;
  s3: Omit<S3BlobStoreOptions, 'partSizeBytes'>;
}

/** The BlobStore the settings name; the only place that chooses one. */
export function createBlobStore(settings: BlobStoreSettings): BlobStore {
  return settings.kind === 's3' ? new S3BlobStore(settings.s3) : new FsBlobStore(settings.dir);
}
