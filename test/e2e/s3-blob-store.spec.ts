import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3BlobStore } from '@menagerie/storage';
import { s3Service } from '../support/env';

jest.setTimeout(120_000);

/** S3BlobStore on the real S3 service (SeaweedFS, started by ensure-services.sh), in a bucket of this file's own. */
describe('S3BlobStore', () => {
  const service = s3Service();
  const bucket = `menagerie-test-${randomUUID().slice(0, 8)}`;
  const options = { ...service, region: 'us-east-1', bucket, forcePathStyle: true, partSizeBytes: 5 * 1024 * 1024 };
  const admin = new S3Client({ endpoint: service.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: service });
  const store = new S3BlobStore(options);

  beforeAll(async () => {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length) await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    store.close();
    admin.destroy();
  });

  const objects = async () => ((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
  const unfinished = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  const text = async (stream: Readable) => Buffer.concat(await stream.toArray()).toString();
  /** `total` bytes in chunks, as an upload arrives. */
  const chunks = (total: number, chunk = 1024 * 1024) =>
    Readable.from((function* () {
      for (let sent = 0; sent < total; sent += chunk) yield randomBytes(Math.min(chunk, total - sent));
    })());

  it('keeps what it is given, with its size and sha256, and reads it back whole or by range', async () => {
    const id = randomUUID();
    const stored = await store.put(id, 'input', Readable.from([Buffer.from('hello, '), Buffer.from('store')]), 100);
    expect(stored).toEqual({ size: 12, sha256: createHash('sha256').update('hello, store').digest('hex') });
    expect(await text((await store.open(id, 'input'))!.stream)).toBe('hello, store');
    const range = (await store.open(id, 'input', { start: 7, end: 11 }))!;
    expect({ size: range.size, text: await text(range.stream) }).toEqual({ size: 12, text: 'store' });
    expect(await store.open(id, 'result')).toBeNull();
  });

  it('streams a file of several parts (multipart) and hashes it on the way', async () => {
    const id = randomUUID();
    const hash = createHash('sha256');
    const source = chunks(12 * 1024 * 1024);
    source.on('data', (c: Buffer) => hash.update(c));
    const stored = await store.put(id, 'result', source, 20 * 1024 * 1024);
    expect(stored).toEqual({ size: 12 * 1024 * 1024, sha256: hash.digest('hex') });
    expect((await store.open(id, 'result'))?.size).toBe(12 * 1024 * 1024);
    expect(await unfinished()).toEqual([]);
  });

  it('refuses past the limit, leaving no object and no unfinished multipart upload', async () => {
    const id = randomUUID();
    await expect(store.put(id, 'input', chunks(15 * 1024 * 1024), 11 * 1024 * 1024)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    await expect(store.put(randomUUID(), 'input', chunks(2000, 100), 1000)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    expect((await objects()).filter((k) => k?.includes(id))).toEqual([]);
    expect(await unfinished()).toEqual([]);
  });

  it('leaves nothing when the upload breaks off mid-stream', async () => {
    const id = randomUUID();
    const source = new Readable({ read() {} });
    const put = store.put(id, 'input', source, 100 * 1024 * 1024);
    for (let i = 0; i < 7; i++) source.push(randomBytes(1024 * 1024));
    source.destroy(new Error('client went away'));
    await expect(put).rejects.toThrow('client went away');
    expect((await objects()).filter((k) => k?.includes(id))).toEqual([]);
    expect(await unfinished()).toEqual([]);
  });

  it('removes everything of a job, and only that job', async () => {
    const [gone, kept] = [randomUUID(), randomUUID()];
    for (const kind of ['input', 'result', 'log'] as const) await store.put(gone, kind, Readable.from([Buffer.from(kind)]), 100);
    await store.put(kept, 'input', Readable.from([Buffer.from('x')]), 100);
    await store.remove(gone);
    await store.remove(randomUUID()); // nothing there: no error
    expect(await store.open(gone, 'input')).toBeNull();
    expect(await text((await store.open(kept, 'input'))!.stream)).toBe('x');
  });

  it('aborts multipart uploads that were started before a time and never finished', async () => {
    const key = `jobs/${randomUUID()}/input`;
    await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    expect(await store.abortStaleUploads(new Date(Date.now() - 60 * 60 * 1000))).toBe(0);
    expect((await unfinished()).map((u) => u.Key)).toEqual([key]);
    expect(await store.abortStaleUploads(new Date(Date.now() + 60 * 1000))).toBe(1);
    expect(await unfinished()).toEqual([]);
  });

  it('refuses a key that is not a job id', async () => {
    await expect(store.put('../etc', 'input', Readable.from([Buffer.from('x')]), 10)).rejects.toThrow(/not a job id/);
  });
});
