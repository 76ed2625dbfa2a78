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
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { S3BlobStore } from '@menagerie/storage';
import { s3Service } from '../support/env';
import { until } from '../support/until';

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
    await store.close();
    admin.destroy();
  });

  const objects = async () => ((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
  const unfinished = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  /** `total` bytes in chunks, as an upload arrives. */
  const chunks = (total: number, chunk = 1024 * 1024) =>
    Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += chunk) yield randomBytes(Math.min(chunk, total - sent));
      })(),
    );

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

  it('holds no more part buffers than it is given: a put waits for one, and past the wait fails UPLOADS_BUSY, leaving nothing', async () => {
    const bounded = new S3BlobStore({ ...options, partBuffers: 1, partBufferWaitMs: 1500 });
    try {
      // Slow clients: 1 MiB (past the single-PUT size, so a part buffer is needed), then nothing until ended.
      const [a, b] = [new PassThrough(), new PassThrough()];
      const [holding, waiting, late] = [randomUUID(), randomUUID(), randomUUID()];
      const first = bounded.put(holding, 'input', a, 20 * 1024 * 1024);
      a.write(randomBytes(1024 * 1024));
      await until('the first put holds the buffer', async () => bounded.partBuffersInUse === 1, 10_000, 10);
      // A second waits for it (backpressure on its client), and takes it once the first gives it back.
      const second = bounded.put(waiting, 'input', b, 20 * 1024 * 1024);
      b.write(randomBytes(1024 * 1024));
      a.end(randomBytes(1024));
      expect((await first).size).toBe(1024 * 1024 + 1024);
      // The second holds it now: a third gives up at the wait, with nothing kept.
      await expect(bounded.put(late, 'input', chunks(2 * 1024 * 1024), 20 * 1024 * 1024)).rejects.toMatchObject({ code: 'UPLOADS_BUSY' });
      b.end(randomBytes(1024));
      expect((await second).size).toBe(1024 * 1024 + 1024);
      expect(bounded.partBuffersInUse).toBe(0);
      expect(await objects()).not.toContain(`jobs/${late}/input`);
      expect(await unfinished()).toEqual([]);
    } finally {
      await bounded.close();
    }
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

  it('aborts multipart uploads that were started before a time and never finished', async () => {
    const key = `jobs/${randomUUID()}/input`;
    await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    expect(await store.abortStaleUploads(new Date(Date.now() - 60 * 60 * 1000))).toBe(0);
    expect((await unfinished()).map((u) => u.Key)).toEqual([key]);
    expect(await store.abortStaleUploads(new Date(Date.now() + 60 * 1000))).toBe(1);
    expect(await unfinished()).toEqual([]);
  });
});

/** A port nothing listens on: what a stopped S3 service looks like to its clients. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A TCP relay to the real service that can be cut: every connection through
 * it is dropped and it stops listening, as when the service goes away in the
 * middle of a transfer.
 */
async function relayTo(endpoint: string): Promise<{ endpoint: string; forwarded(): number; cut(): Promise<void> }> {
  const target = new URL(endpoint);
  const sockets = new Set<Socket>();
  let forwarded = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => (forwarded += chunk.length));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    forwarded: () => forwarded,
    cut: async () => {
      const closed = new Promise((r) => server.close(r));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

describe('S3BlobStore when the service is unreachable', () => {
  const service = s3Service();
  const base = { ...service, region: 'us-east-1', forcePathStyle: true, partSizeBytes: 5 * 1024 * 1024 };
  const unavailable = (endpoint: string) => ({
    code: 'STORAGE_UNAVAILABLE',
    message: expect.stringMatching(new RegExp(`S3.*${endpoint.replace(/[.:/]/g, '\\$&')}`)),
  });
  const stores: S3BlobStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });
  const storeAt = (endpoint: string, bucket = 'menagerie-unreachable') => {
    const s = new S3BlobStore({ ...base, endpoint, bucket });
    stores.push(s);
    return s;
  };

  // The bound is the point: a put, a check, a read fail within seconds (connect timeout, three attempts), never hang.
  it('fails every verb with STORAGE_UNAVAILABLE naming S3 and the endpoint, and lets the upload drain', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const down = storeAt(endpoint);
    const id = randomUUID();
    const small = Readable.from([Buffer.from('x')]);
    await expect(down.put(id, 'input', small, 100)).rejects.toMatchObject(unavailable(endpoint));
    const large = chunksOf(12 * 1024 * 1024);
    await expect(down.put(id, 'input', large, 100 * 1024 * 1024)).rejects.toMatchObject(unavailable(endpoint));
    // The request it came from can still be answered: its body is read to the end.
    await until('the refused upload is drained', async () => large.readableEnded);
    await expect(down.check()).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/^S3 storage at .* bucket menagerie-unreachable does not answer: /),
    });
    await expect(down.open(id, 'result')).rejects.toMatchObject(unavailable(endpoint));
    await expect(down.remove(id)).rejects.toMatchObject(unavailable(endpoint));
    await expect(down.listIds(null, 10)).rejects.toMatchObject(unavailable(endpoint));
    await expect(down.lastWritten(randomUUID())).rejects.toMatchObject(unavailable(endpoint));
    await expect(down.abortStaleUploads(new Date())).rejects.toMatchObject(unavailable(endpoint));
    await expect(down.init()).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining(`${endpoint} bucket menagerie-unreachable`),
    });
  }, 30_000);

  it('fails check() on a service that takes the connection and never answers, instead of hanging /health', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await expect(storeAt(endpoint).check()).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        message: expect.stringContaining(`S3 storage at ${endpoint}`),
      });
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  }, 20_000);

  it('names a bucket that does not exist in check(), and init() makes it', async () => {
    const bucket = `menagerie-test-${randomUUID().slice(0, 8)}`;
    const fresh = storeAt(service.endpoint, bucket);
    await expect(fresh.check()).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining('the bucket does not exist'),
    });
    await fresh.init();
    await fresh.check();
    const admin = new S3Client({ endpoint: service.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: service });
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    admin.destroy();
  });

  it('a service lost mid-upload: STORAGE_UNAVAILABLE and no object; the unfinished upload goes once it is back', async () => {
    const bucket = `menagerie-test-${randomUUID().slice(0, 8)}`;
    const direct = storeAt(service.endpoint, bucket);
    await direct.init();
    const admin = new S3Client({ endpoint: service.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: service });
    try {
      const relay = await relayTo(service.endpoint);
      const through = storeAt(relay.endpoint, bucket);
      const id = randomUUID();
      const source = new Readable({ read() {} });
      const put = through.put(id, 'input', source, 100 * 1024 * 1024);
      for (let i = 0; i < 7; i++) source.push(randomBytes(1024 * 1024));
      // The first part is on its way: the service goes.
      await until('a part is being sent', async () => relay.forwarded() > 1024 * 1024);
      await relay.cut();
      for (let i = 0; i < 7; i++) source.push(randomBytes(1024 * 1024));
      source.push(null);
      await expect(put).rejects.toMatchObject(unavailable(relay.endpoint));
      const keys = ((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
      expect(keys).toEqual([]);
      // What could not be aborted while the service was gone, the retention sweep aborts.
      const left = async () => ((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key);
      expect(await left()).toEqual([`jobs/${id}/input`]);
      expect(await direct.abortStaleUploads(new Date(Date.now() + 60_000))).toBe(1);
      expect(await left()).toEqual([]);
    } finally {
      await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
      admin.destroy();
    }
  }, 60_000);
});

/** `total` random bytes in 1 MiB chunks. */
function chunksOf(total: number): Readable {
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += 1024 * 1024) yield randomBytes(Math.min(1024 * 1024, total - sent));
    })(),
  );
}
