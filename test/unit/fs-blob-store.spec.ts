import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsBlobStore } from '@menagerie/storage';
import { from, openOn, read } from '../support/streams';
import { tempDir } from '../support/temp-dir';

async function newStore(): Promise<FsBlobStore> {
  const store = new FsBlobStore(tempDir('menagerie-blobs-'));
  await store.init();
  return store;
}

// Giving files to another user and a full disk (root): test/host/fs-blob-store-root.spec.ts.

describe('FsBlobStore', () => {
  it("keeps JobStore's layout, so what it stored is still served: store/<id>/{input,result,engine.log}, 0700 and 0600", async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.put(id, 'input', from('the input'), 100);
    await store.put(id, 'log', from('the log'), 100);
    const dir = join(store.root, 'store', id);
    expect(readdirSync(dir).sort()).toEqual(['engine.log', 'input']);
    expect(readFileSync(join(dir, 'input'), 'utf8')).toBe('the input');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'input')).mode & 0o777).toBe(0o600);
    expect(statSync(join(store.root, 'store')).mode & 0o777).toBe(0o700);
    // A result an earlier version put there.
    writeFileSync(join(dir, 'result'), 'stored before the upgrade');
    expect((await read((await store.open(id, 'result'))!.stream)).toString()).toBe('stored before the upgrade');
  });

  it('refuses a blob that is a symlink, and never follows it', async () => {
    const store = await newStore();
    const secret = join(tempDir('menagerie-secret-'), 'secret');
    writeFileSync(secret, 'host secret');
    const id = randomUUID();
    await store.put(id, 'input', from('x'), 10);
    symlinkSync(secret, join(store.root, 'store', id, 'result'));
    symlinkSync(secret, join(store.root, 'store', id, 'engine.log'));
    expect(await store.open(id, 'result')).toBeNull();
    expect(await store.open(id, 'log', { start: 0, end: 100 })).toBeNull();
    expect(openOn(secret)).toBe(0);
  });

  it('refuses a blob that is a FIFO or a directory, without waiting for a writer', async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.put(id, 'input', from('x'), 10);
    execFileSync('mkfifo', [join(store.root, 'store', id, 'result')]);
    mkdirSync(join(store.root, 'store', id, 'engine.log'));
    expect(await store.open(id, 'result')).toBeNull();
    expect(await store.open(id, 'log')).toBeNull();
  });

  it('closes the file when a reader destroys the stream mid-way', async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.put(id, 'result', from(Buffer.alloc(4 * 1024 * 1024, 7)), 8 * 1024 * 1024);
    const path = join(store.root, 'store', id, 'result');
    const blob = (await store.open(id, 'result'))!;
    expect(openOn(path)).toBe(1);
    blob.stream.destroy();
    await new Promise((r) => blob.stream.once('close', r));
    expect(openOn(path)).toBe(0);
  });

  it('dates a job directory by the newest thing in it, so an upload still being written is never old', async () => {
    const store = await newStore();
    const [idle, writing] = [randomUUID(), randomUUID()];
    for (const id of [idle, writing]) await store.put(id, 'input', from('x'), 100);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const dirOf = (id: string) => join(store.root, 'store', id);
    for (const id of [idle, writing]) {
      for (const path of [join(dirOf(id), 'input'), dirOf(id)]) utimesSync(path, hourAgo, hourAgo);
    }
    // An upload still streaming: its directory is old, the file in it is not.
    writeFileSync(join(dirOf(writing), 'input.0a1b2c3d.partial'), 'more');
    // (Within a millisecond: mtimes are kept finer than a Date.)
    expect(Math.abs((await store.lastWritten(idle))!.getTime() - hourAgo.getTime())).toBeLessThan(2);
    expect((await store.lastWritten(writing))!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(await store.lastWritten(randomUUID())).toBeNull();
  });

  it('puts again over what a put that died left, and abortStaleUploads removes only old partial files', async () => {
    const store = await newStore();
    const id = randomUUID();
    const dir = join(store.root, 'store', id);
    await store.put(id, 'input', from('x'), 10);
    // A worker killed mid-put left its partial result; the retry must not trip on it.
    const dead = join(dir, 'result.deadbeef.partial');
    writeFileSync(dead, 'half');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(dead, hourAgo, hourAgo);
    await store.put(id, 'result', from('whole'), 10);
    expect((await read((await store.open(id, 'result'))!.stream)).toString()).toBe('whole');
    const fresh = join(dir, 'log.cafebabe.partial');
    writeFileSync(fresh, 'being written');
    expect(await store.abortStaleUploads(new Date(Date.now() - 60_000))).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['input', 'log.cafebabe.partial', 'result']);
    expect(existsSync(fresh)).toBe(true);
  });

  it('fails check() naming the directory when the store is not there', async () => {
    const root = join(tempDir('menagerie-blobs-'), 'never-made');
    await expect(new FsBlobStore(root).check()).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`${join(root, 'store')}.*ENOENT`)),
    });
  });
});
