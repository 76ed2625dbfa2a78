import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createBlobStore, type BlobStore } from '@menagerie/storage';
import { s3Service } from '../support/env';
import { removeDir, tempDir } from '../support/temp-dir';

jest.setTimeout(60_000);

/**
 * What a backend must do to be a BlobStore, run against both: the file
 * store in a temporary directory, and S3BlobStore on the real local S3
 * service (SeaweedFS) in a bucket of this run's own, which init() makes.
 * Each backend says how to look behind the interface: what objects and
 * unfinished uploads are left for an id.
 */
interface Backend {
  store: BlobStore;
  /** Names of everything kept for `id`, finished or not. */
  leftFor(id: string): Promise<string[]>;
  /** Names of everything kept of data bundles, finished or not. */
  bundlesLeft(): Promise<string[]>;
  /** What a process that died mid-put leaves. */
  leaveUnfinishedUpload(id: string): Promise<void>;
  dispose(): Promise<void>;
}

function fsBackend(): Backend {
  const root = tempDir('menagerie-blobs-');
  const store = createBlobStore({
    kind: 'fs',
    dir: root,
    s3: { endpoint: '', region: '', bucket: '', accessKeyId: '', secretAccessKey: '', forcePathStyle: true },
  });
  const dirOf = (id: string) => join(root, 'store', id);
  return {
    store,
    leftFor: async (id) => (existsSync(dirOf(id)) ? readdirSync(dirOf(id)) : []),
    bundlesLeft: async () => (existsSync(join(root, 'bundles')) ? readdirSync(join(root, 'bundles')).map((n) => `bundles/${n}`) : []),
    leaveUnfinishedUpload: async (id) => {
      const dir = dirOf(id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'input.deadbeef.partial'), 'half an upload');
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(join(dir, 'input.deadbeef.partial'), old, old);
    },
    dispose: async () => removeDir(root),
  };
}

function s3Backend(): Backend {
  const service = s3Service();
  const bucket = `menagerie-test-${randomUUID().slice(0, 8)}`;
  const s3 = { ...service, region: 'us-east-1', bucket, forcePathStyle: true };
  const store = createBlobStore({ kind: 's3', dir: '/nonexistent', s3 });
  const admin = new S3Client({ endpoint: service.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: service });
  const keys = async (prefix: string) =>
    ((await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  const uploads = async (prefix: string) =>
    ((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? []).map(
      (u) => `${u.Key} (unfinished)`,
    );
  return {
    store,
    leftFor: async (id) => [...(await keys(`jobs/${id}/`)), ...(await uploads(`jobs/${id}/`))],
    bundlesLeft: async () => [...(await keys('bundles/')), ...(await uploads('bundles/'))],
    leaveUnfinishedUpload: async (id) => {
      await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `jobs/${id}/input` }));
    },
    dispose: async () => {
      const left = await keys('');
      if (left.length) await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: left.map((Key) => ({ Key })) } }));
      await store.abortStaleUploads(new Date(Date.now() + 3_600_000));
      await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
      await store.close();
      admin.destroy();
    },
  };
}

const text = async (stream: Readable) => Buffer.concat(await stream.toArray()).toString();
const from = (s: string) => Readable.from([Buffer.from(s)]);
const endless = () => {
  const stats = { produced: 0 };
  const source = new Readable({
    read() {
      stats.produced += 64 * 1024;
      this.push(randomBytes(64 * 1024));
    },
  });
  return { source, stats };
};

describe.each([
  ['fs', fsBackend],
  ['s3', s3Backend],
] as const)('BlobStore contract: %s', (_name, make) => {
  let backend: Backend;
  let store: BlobStore;
  beforeAll(async () => {
    backend = make();
    store = backend.store;
    await store.init();
    await store.init(); // idempotent: a second process starting on the same store
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  it('answers check() once init() has made it ready', async () => {
    await expect(store.check()).resolves.toBeUndefined();
  });

  it('keeps each kind of a job with its size and sha256, and reads it back whole or by range', async () => {
    const id = randomUUID();
    expect(await store.put(id, 'input', Readable.from([Buffer.from('hello, '), Buffer.from('store')]), 100)).toEqual({
      size: 12,
      sha256: createHash('sha256').update('hello, store').digest('hex'),
    });
    await store.put(id, 'result', from('{"a": 1}'), 100);
    await store.put(id, 'log', from('engine output\n'), 100);
    expect(await text((await store.open(id, 'input'))!.stream)).toBe('hello, store');
    expect(await text((await store.open(id, 'result'))!.stream)).toBe('{"a": 1}');
    expect(await text((await store.open(id, 'log'))!.stream)).toBe('engine output\n');
    const range = (await store.open(id, 'input', { start: 7, end: 11 }))!;
    expect({ size: range.size, text: await text(range.stream) }).toEqual({ size: 12, text: 'store' });
    const first = (await store.open(id, 'input', { start: 0, end: 0 }))!;
    expect({ size: first.size, text: await text(first.stream) }).toEqual({ size: 12, text: 'h' });
    // Past the end: nothing to read, and the whole size still told.
    const past = (await store.open(id, 'input', { start: 12, end: 20 }))!;
    expect({ size: past.size, text: await text(past.stream) }).toEqual({ size: 12, text: '' });
  });

  it('replaces a blob put again (a retried step)', async () => {
    const id = randomUUID();
    await store.put(id, 'result', from('first'), 100);
    await store.put(id, 'result', from('second'), 100);
    expect(await text((await store.open(id, 'result'))!.stream)).toBe('second');
    expect((await backend.leftFor(id)).sort()).toEqual([expect.stringMatching(/result$/)]);
  });

  it('says null for what is not there', async () => {
    const id = randomUUID();
    expect(await store.open(id, 'input')).toBeNull();
    await store.put(id, 'input', from('x'), 10);
    expect(await store.open(id, 'result')).toBeNull();
    expect(await store.open(id, 'log', { start: 0, end: 10 })).toBeNull();
  });

  it('keeps an empty blob', async () => {
    const id = randomUUID();
    expect((await store.put(id, 'log', Readable.from([]), 10)).size).toBe(0);
    const log = (await store.open(id, 'log'))!;
    expect({ size: log.size, text: await text(log.stream) }).toEqual({ size: 0, text: '' });
  });

  it('stops reading past the limit with UPLOAD_TOO_LARGE, and leaves nothing', async () => {
    const id = randomUUID();
    const { source, stats } = endless();
    await expect(store.put(id, 'input', source, 100_000)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    expect(stats.produced).toBeLessThan(20 * 1024 * 1024);
    expect(await backend.leftFor(id)).toEqual([]);
    expect(await store.open(id, 'input')).toBeNull();
  });

  it('leaves nothing when the source breaks off mid-stream, and keeps what the job had', async () => {
    const id = randomUUID();
    await store.put(id, 'input', from('the input'), 100);
    const source = new Readable({ read() {} });
    const put = store.put(id, 'result', source, 100 * 1024 * 1024);
    source.push(randomBytes(256 * 1024));
    source.destroy(new Error('client went away'));
    await expect(put).rejects.toThrow('client went away');
    expect(await backend.leftFor(id)).toEqual([expect.stringMatching(/input$/)]);

    const fresh = randomUUID();
    const broken = new Readable({ read() {} });
    const second = store.put(fresh, 'input', broken, 100);
    broken.destroy(new Error('client went away'));
    await expect(second).rejects.toThrow('client went away');
    expect(await backend.leftFor(fresh)).toEqual([]);
  });

  it('removes everything of a job, and only that job; removing nothing is no error', async () => {
    const [gone, kept] = [randomUUID(), randomUUID()];
    for (const kind of ['input', 'result', 'log'] as const) await store.put(gone, kind, from(kind), 100);
    await store.put(kept, 'input', from('x'), 100);
    await store.remove(gone);
    await store.remove(gone);
    await store.remove(randomUUID());
    expect(await backend.leftFor(gone)).toEqual([]);
    expect(await text((await store.open(kept, 'input'))!.stream)).toBe('x');
  });

  it('lists every id with anything stored, a page at a time in id order, each once, whatever it holds', async () => {
    const stored = Array.from({ length: 7 }, () => randomUUID());
    // An input alone, a result and a log alone (a hit's blobs shared before its row), all three.
    for (const [i, id] of stored.entries()) {
      if (i % 3 === 0) await store.put(id, 'input', from('x'), 10);
      if (i % 3 === 1) for (const kind of ['result', 'log'] as const) await store.put(id, kind, from(kind), 10);
      if (i % 3 === 2) for (const kind of ['input', 'result', 'log'] as const) await store.put(id, kind, from(kind), 10);
    }
    const seen: string[] = [];
    const pages: number[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { ids: string[]; next: string | null } = await store.listIds(after, 3);
      pages.push(page.ids.length);
      seen.push(...page.ids);
      if (page.next === null) break;
      expect(page.next).toBe(page.ids[page.ids.length - 1]);
      after = page.next;
    }
    // The store may hold other tests' ids too: ours are all there, once, and the order is the ids'.
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(stored.filter((id) => !seen.includes(id))).toEqual([]);
    expect(pages.slice(0, -1).every((n) => n === 3)).toBe(true);
  });

  it('dates a job by its newest write, and knows none for a job with nothing stored', async () => {
    const id = randomUUID();
    const before = Date.now();
    await store.put(id, 'input', from('x'), 10);
    const written = (await store.lastWritten(id))!.getTime();
    // Object stores keep whole seconds.
    expect(written).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    expect(written).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await store.lastWritten(randomUUID())).toBeNull();
  });

  it('aborts an unfinished upload a dead process left, only when it started before the time asked', async () => {
    const id = randomUUID();
    await backend.leaveUnfinishedUpload(id);
    expect(await store.abortStaleUploads(new Date(Date.now() - 2 * 3_600_000))).toBe(0);
    expect(await backend.leftFor(id)).toHaveLength(1);
    expect(await store.abortStaleUploads(new Date(Date.now() + 60_000))).toBe(1);
    expect(await backend.leftFor(id)).toEqual([]);
  });

  describe('data bundles, by digest', () => {
    const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

    it('keeps a tar under its digest, apart from the jobs: put, open, exists, remove', async () => {
      const digest = digestOf(`bundle ${randomUUID()}`);
      const hex = digest.slice('sha256:'.length);
      expect(await store.bundles.exists(digest)).toBe(false);
      expect(await store.bundles.open(digest)).toBeNull();
      const sha256 = createHash('sha256').update('the canonical tar').digest('hex');
      expect(await store.bundles.put(digest, from('the canonical tar'), 100)).toEqual({ size: 17, sha256 });
      expect(await store.bundles.exists(digest)).toBe(true);
      const opened = (await store.bundles.open(digest))!;
      expect({ size: opened.size, text: await text(opened.stream) }).toEqual({ size: 17, text: 'the canonical tar' });
      expect(await backend.bundlesLeft()).toContain(`bundles/${hex}.tar`);
      await store.bundles.remove(digest);
      await store.bundles.remove(digest);
      expect(await store.bundles.exists(digest)).toBe(false);
      expect(await backend.bundlesLeft()).not.toContain(`bundles/${hex}.tar`);
    });

    it("is never an id that retention's listIds (and so its orphan sweep) meets", async () => {
      const digest = digestOf(`listed ${randomUUID()}`);
      await store.bundles.put(digest, from('x'), 10);
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: { ids: string[]; next: string | null } = await store.listIds(after, 1000);
        seen.push(...page.ids);
        after = page.next;
      } while (after !== null);
      expect(seen.filter((id) => digest.includes(id) || id.includes('bundles'))).toEqual([]);
      expect(await store.bundles.exists(digest)).toBe(true);
    });

    it('stops past the limit with UPLOAD_TOO_LARGE and leaves nothing', async () => {
      const digest = digestOf(`too large ${randomUUID()}`);
      const { source } = endless();
      await expect(store.bundles.put(digest, source, 100_000)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
      expect((await backend.bundlesLeft()).filter((name) => name.includes(digest.slice(7)))).toEqual([]);
    });
  });

  it('refuses a name that is not a job id, or a bundle digest, so no path or key can escape', async () => {
    await expect(store.put('../etc', 'input', from('x'), 10)).rejects.toThrow(/not a job id/);
    await expect(store.open('../../etc', 'input')).rejects.toThrow(/not a job id/);
    await expect(store.remove('jobs/')).rejects.toThrow(/not a job id/);
    await expect(store.bundles.put('sha256:../../etc', from('x'), 10)).rejects.toThrow(/not a bundle digest/);
    await expect(store.bundles.open(`sha256:${'A'.repeat(64)}`)).rejects.toThrow(/not a bundle digest/);
  });
});
