import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { s3Service } from './env';

/** Which store the test systems use: `MENAGERIE_TEST_STORAGE=s3` runs them on the local SeaweedFS. */
export function testStorageKind(): 'fs' | 's3' {
  const kind = process.env.MENAGERIE_TEST_STORAGE ?? 'fs';
  if (kind !== 'fs' && kind !== 's3') throw new Error(`MENAGERIE_TEST_STORAGE must be fs or s3, not ${kind}`);
  return kind;
}

/** A bucket of the test's own on the local S3 service (the store's init() creates it); `drop()` empties and removes it. */
export function testBucket(): {
  settings: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean };
  drop(): Promise<void>;
} {
  const service = s3Service();
  const bucket = `menagerie-test-${randomUUID().slice(0, 13)}`;
  const settings = { ...service, region: 'us-east-1', bucket, forcePathStyle: true };
  return {
    settings,
    async drop() {
      const admin = new S3Client({
        endpoint: service.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
      });
      try {
        for (;;) {
          const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
          const keys = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
          if (!keys.length) break;
          await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
        }
        await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
      } catch (err) {
        if ((err as { name?: string }).name !== 'NoSuchBucket') throw err;
      } finally {
        admin.destroy();
      }
    },
  };
}

/** Every object key and unfinished multipart upload in `bucket`, sorted. */
export async function bucketContents(s3: S3Client, bucket: string): Promise<{ objects: string[]; uploads: string[] }> {
  const objects: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    objects.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  const uploads = ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => `${u.Key}#${u.UploadId}`);
  return { objects: objects.sort(), uploads: uploads.sort() };
}

/** Removes `bucket` with its objects and unfinished multipart uploads. */
export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  const { objects } = await bucketContents(s3, bucket);
  for (let i = 0; i < objects.length; i += 1000) {
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
  for (const u of (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
