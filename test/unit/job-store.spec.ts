import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { JobStore, safeStem, sniff } from '@menagerie/storage';
import { gzipSync } from 'node:zlib';

async function newStore(): Promise<JobStore> {
  const store = new JobStore(mkdtempSync(join(tmpdir(), 'menagerie-store-')));
  await store.init();
  return store;
}

describe('JobStore', () => {
  it('streams an input to disk with its sha256', async () => {
    const store = await newStore();
    const id = randomUUID();
    const data = Buffer.from('some sample bytes');
    const stored = await store.writeInput(id, Readable.from([data]), 100);
    expect(stored).toEqual({ size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    expect(readFileSync(store.inputPath(id))).toEqual(data);
  });

  it('stops at the size limit and leaves nothing behind', async () => {
    const store = await newStore();
    const id = randomUUID();
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024));
      },
    });
    await expect(store.writeInput(id, endless, 10_000)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    expect(produced).toBeLessThan(200_000);
    expect(existsSync(store.storeDir(id))).toBe(false);
  });

  it('stages the input under inputfilename in a job directory of its own', async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from('apk')]), 100);
    const dir = await store.stage(id, 'sample.apk', '1000');
    expect(dir).toBe(store.jobDir(id));
    expect(readFileSync(join(dir, 'sample.apk'), 'utf8')).toBe('apk');
    if (process.getuid?.() === 0) expect(statSync(dir).uid).toBe(1000);
  });

  it('collects a regular result with a sensible name', async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
    await store.stage(id, 'in', '1000');
    writeFileSync(join(store.jobDir(id), 'result'), '{"a": 1}');
    const result = await store.collectResult(id, '../../évil name.apk', 'filemeta', 1000);
    expect(result).toEqual({ name: 'vil_name.filemeta.json', size: 8, mime: 'application/json' });
    expect(readFileSync(store.resultPath(id), 'utf8')).toBe('{"a": 1}');
  });

  it('collects the same result again after its job directory is gone (a replayed step)', async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
    await store.stage(id, 'in', '1000');
    writeFileSync(join(store.jobDir(id), 'result'), '{"a": 1}');
    const first = await store.collectResult(id, 'sample.apk', 'filemeta', 1000);
    await store.removeJobDir(id);
    expect(await store.collectResult(id, 'sample.apk', 'filemeta', 1000)).toEqual(first);
    // Neither collected nor written: still missing.
    const other = randomUUID();
    await store.writeInput(other, Readable.from([Buffer.from('x')]), 100);
    await store.stage(other, 'in', '1000');
    expect(await store.collectResult(other, 'sample.apk', 'filemeta', 1000)).toBe('missing');
  });

  it('takes for abandoned only old directories of jobs that never ran', async () => {
    const store = await newStore();
    const [abandoned, writing, finished] = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of [abandoned, writing, finished]) await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
    await store.writeLog(finished, Buffer.from('engine output'));
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const id of [abandoned, writing, finished]) {
      for (const path of [store.inputPath(id), store.storeDir(id)]) utimesSync(path, hourAgo, hourAgo);
    }
    utimesSync(store.logPath(finished), hourAgo, hourAgo);
    // An upload still streaming: its directory is old, the file in it is not.
    writeFileSync(store.inputPath(writing), 'more');
    expect(await store.listAbandoned(new Date(Date.now() - 60_000))).toEqual([abandoned]);
  });

  it('refuses a result that is a symlink, a directory, or too large', async () => {
    const store = await newStore();
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
    await store.stage(id, 'in', '1000');
    const result = join(store.jobDir(id), 'result');
    symlinkSync('/etc/passwd', result);
    expect(await store.collectResult(id, 'a', 'e', 1000)).toBe('not-a-regular-file');
    expect(existsSync(store.resultPath(id))).toBe(false);

    const id2 = randomUUID();
    await store.writeInput(id2, Readable.from([Buffer.from('x')]), 100);
    await store.stage(id2, 'in', '1000');
    mkdirSync(join(store.jobDir(id2), 'result'));
    expect(await store.collectResult(id2, 'a', 'e', 1000)).toBe('not-a-regular-file');
    expect(await store.collectResult(randomUUID(), 'a', 'e', 1000)).toBe('missing');

    const id3 = randomUUID();
    await store.writeInput(id3, Readable.from([Buffer.from('x')]), 100);
    await store.stage(id3, 'in', '1000');
    writeFileSync(join(store.jobDir(id3), 'result'), Buffer.alloc(2000));
    expect(await store.collectResult(id3, 'a', 'e', 1000)).toBe('too-large');
  });

  it('refuses ids that are not UUIDs, so no path can escape the store', async () => {
    const store = await newStore();
    expect(() => store.storeDir('../../etc')).toThrow();
  });
});

describe('sniff and safeStem', () => {
  it('recognises tar.gz, json, text and binary', () => {
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    expect(sniff(gzipSync(tar)).extension).toBe('.tar.gz');
    expect(sniff(Buffer.from('  {"x":1}')).extension).toBe('.json');
    expect(sniff(Buffer.from('plain words')).extension).toBe('.txt');
    expect(sniff(Buffer.from([0, 1, 2, 255])).extension).toBe('.bin');
  });

  it('makes file names safe', () => {
    expect(safeStem('sample.apk')).toBe('sample');
    expect(safeStem('../../etc/passwd')).toBe('passwd');
    expect(safeStem('a\u0000b"c.apk')).toBe('a_b_c');
    expect(safeStem('')).toBe('input');
    expect(safeStem('x'.repeat(10_000)).length).toBe(80);
  });
});
