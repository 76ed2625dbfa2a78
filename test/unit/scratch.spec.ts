import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { JobStore, safeStem, sniff, type JobDirOptions } from '@menagerie/storage';
import { gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMaintenanceActivities, type MaintenanceDeps } from '@menagerie/activities';
import type { JobStatus } from '@menagerie/core';
import type { ContainerRuntime } from '@menagerie/runtime';

async function newStore(jobDirs: JobDirOptions = { filesystem: 'plain', limitBytes: 1024 ** 3 }): Promise<JobStore> {
  const store = new JobStore(mkdtempSync(join(tmpdir(), 'menagerie-store-')), jobDirs);
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

/** Mount points under `dir`, from the kernel's own table. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && point.startsWith(dir));
}

const LIMIT = 16 * 1024 ** 2;
// Loop devices need root; where there are none, the worker refuses to start (see 'init'), and these cannot run.
const canMount = process.getuid?.() === 0 && existsSync('/dev/loop-control');
const loopIt = canMount ? it : it.skip;

describe('JobStore with loop-mounted job directories', () => {
  const stores: JobStore[] = [];
  async function loopStore(): Promise<JobStore> {
    const store = await newStore({ filesystem: 'loop', limitBytes: LIMIT });
    stores.push(store);
    return store;
  }
  async function staged(store: JobStore, input = 'x'): Promise<string> {
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from(input)]), 100);
    await store.stage(id, 'in', '1000:1000');
    return id;
  }
  afterEach(async () => {
    // Whatever a failed test left mounted goes, so no loop device outlives the suite.
    for (const store of stores.splice(0)) {
      for (const id of await store.listJobDirs()) await store.removeJobDir(id);
      expect(mountsUnder(store.root)).toEqual([]);
    }
  });

  loopIt('stages a filesystem of the limit\'s size holding only the input, owned by the engine\'s user, 0700', async () => {
    const store = await loopStore();
    const id = await staged(store, 'apk');
    const dir = store.jobDir(id);
    expect(mountsUnder(store.root)).toEqual([dir]);
    expect(readdirSync(dir)).toEqual(['in']);
    expect(readFileSync(join(dir, 'in'), 'utf8')).toBe('apk');
    const info = statSync(dir);
    expect([info.uid, info.gid, info.mode & 0o777]).toEqual([1000, 1000, 0o700]);
    const fs = statfsSync(dir);
    expect(fs.blocks * fs.bsize).toBeLessThanOrEqual(LIMIT);
    expect(fs.blocks * fs.bsize).toBeGreaterThan(LIMIT * 0.9);
    // The image lives outside the job directory and the store, sparse.
    const image = join(store.root, 'volumes', `${id}.img`);
    expect(statSync(image).size).toBe(LIMIT);
    expect(statSync(image).blocks * 512).toBeLessThan(LIMIT / 4);
    expect(await store.jobDirUsage(id)).toMatchObject({ limitBytes: LIMIT, full: null });
  });

  loopIt('counts what a file unlinked but still open holds, and the host gives no more than the limit', async () => {
    const store = await loopStore();
    const id = await staged(store);
    const path = join(store.jobDir(id), 'hidden');
    const fd = openSync(path, 'w');
    unlinkSync(path);
    let written = 0;
    try {
      const chunk = Buffer.alloc(1024 ** 2);
      expect(() => {
        for (;;) written += writeSync(fd, chunk);
      }).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(readdirSync(store.jobDir(id))).toEqual(['in']);
      const usage = await store.jobDirUsage(id);
      expect(usage.full).toBe('bytes');
      expect(usage.usedBytes).toBeGreaterThan(LIMIT * 0.9);
    } finally {
      closeSync(fd);
    }
    expect(written).toBeLessThanOrEqual(LIMIT);
    expect(statSync(join(store.root, 'volumes', `${id}.img`)).blocks * 512).toBeLessThanOrEqual(LIMIT);
  });

  loopIt('bounds empty files and directories by the volume\'s inodes', async () => {
    const store = await loopStore();
    const id = await staged(store);
    const dir = store.jobDir(id);
    let made = 0;
    expect(() => {
      for (; made < 100_000; made++) {
        if (made % 2) mkdirSync(join(dir, `d${made}`));
        else closeSync(openSync(join(dir, `f${made}`), 'w'));
      }
    }).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    const usage = await store.jobDirUsage(id);
    expect(usage.full).toBe('inodes');
    expect(usage.inodeLimit).toBe(LIMIT / 16384);
    expect(made).toBeLessThan(LIMIT / 16384);
  });

  loopIt('stages again on a fresh volume (a retry), and removeJobDir unmounts and removes the image', async () => {
    const store = await loopStore();
    const id = await staged(store);
    writeFileSync(join(store.jobDir(id), 'left-by-attempt-1'), 'x');
    await store.stage(id, 'in', '1000:1000');
    expect(readdirSync(store.jobDir(id))).toEqual(['in']);
    expect(mountsUnder(store.root)).toEqual([store.jobDir(id)]);
    await store.removeJobDir(id);
    await store.removeJobDir(id); // idempotent
    expect(mountsUnder(store.root)).toEqual([]);
    expect(readdirSync(join(store.root, 'jobs'))).toEqual([]);
    expect(readdirSync(join(store.root, 'volumes'))).toEqual([]);
  });

  loopIt('sweeps a volume a crashed worker left, and never follows a symlink in a job directory\'s place', async () => {
    const store = await loopStore();
    const other = await loopStore();
    const left = await staged(store);
    // A second process on the same store (the restarted worker) finds the mount and the image.
    const restarted = new JobStore(store.root, { filesystem: 'loop', limitBytes: LIMIT });
    expect(await restarted.listJobDirs()).toEqual([left]);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(store.jobDir(left), old, old);
    for (const f of [join(store.root, 'volumes', `${left}.img`), join(store.jobDir(left), 'in'), store.storeDir(left), store.inputPath(left)]) utimesSync(f, old, old);
    expect(await restarted.listAbandoned(new Date(Date.now() - 60_000))).toEqual([left]);
    await restarted.remove(left);
    expect(mountsUnder(store.root)).toEqual([]);
    expect(existsSync(join(store.root, 'volumes', `${left}.img`))).toBe(false);

    // jobs/<id> as a symlink to another store's mounted job directory: the link goes, the mount stays.
    const foreign = await staged(other);
    const id = randomUUID();
    symlinkSync(other.jobDir(foreign), store.jobDir(id));
    await store.removeJobDir(id);
    expect(existsSync(store.jobDir(id))).toBe(false);
    expect(mountsUnder(other.root)).toEqual([other.jobDir(foreign)]);
    expect(readdirSync(other.jobDir(foreign))).toEqual(['in']);
  });

  it('refuses a limit too small for a filesystem, at init', async () => {
    const store = new JobStore(mkdtempSync(join(tmpdir(), 'menagerie-store-')), { filesystem: 'loop', limitBytes: 4096 });
    await expect(store.init()).rejects.toThrow(/jobDirLimitBytes must be at least/);
  });

  it('walks a plain job directory, which is full past the limit', async () => {
    const store = await newStore({ filesystem: 'plain', limitBytes: 1000 });
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
    await store.stage(id, 'in', '1000');
    expect(await store.jobDirUsage(id)).toEqual({ usedBytes: 1, limitBytes: 1000, full: null, inodeLimit: null });
    writeFileSync(join(store.jobDir(id), 'big'), Buffer.alloc(1000));
    expect((await store.jobDirUsage(id)).full).toBe('bytes');
  });
});

describe('retention sweep of job directories', () => {
  loopIt('unmounts and removes the job directories of ended jobs, and only theirs', async () => {
    const store = await newStore({ filesystem: 'loop', limitBytes: LIMIT });
    const ids = { ended: randomUUID(), running: randomUUID(), unknown: randomUUID() };
    for (const id of Object.values(ids)) {
      await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
      await store.stage(id, 'in', '1000:1000');
    }
    const statuses = new Map<string, JobStatus>([
      [ids.ended, 'completed'],
      [ids.running, 'running'],
    ]);
    const jobs: MaintenanceDeps['jobs'] = {
      findExpirable: async () => [],
      markExpired: async () => undefined,
      statuses: async (wanted: string[]) => new Map(wanted.filter((id) => statuses.has(id)).map((id) => [id, statuses.get(id)!])),
    };
    const activities = createMaintenanceActivities({ store, runtime: {} as ContainerRuntime, jobs });
    try {
      const report = await new MockActivityEnvironment().run(activities.expireOldJobs, { olderThanDays: 30 });
      expect(report).toEqual({ expiredJobs: 0, orphanDirs: 0, leftoverJobDirs: 1, failed: 0 });
      // The running job keeps its volume; one with no row is left to the abandoned-upload rule (an hour untouched).
      expect(mountsUnder(store.root).sort()).toEqual([store.jobDir(ids.running), store.jobDir(ids.unknown)].sort());
      expect((await store.listJobDirs()).sort()).toEqual([ids.running, ids.unknown].sort());
      expect(await store.hasInput(ids.ended)).toBe(true);
    } finally {
      for (const id of Object.values(ids)) await store.removeJobDir(id);
    }
  });
});

describe('reading the stored result and log', () => {
  const read = async (stream: Readable) => {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const openOn = (path: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return require('node:fs').readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    }).length;

  async function storeWith(name: 'result' | 'engine.log', make: (path: string) => void): Promise<{ store: JobStore; id: string; path: string }> {
    const store = await newStore();
    const id = randomUUID();
    await store.writeInput(id, Readable.from([Buffer.from('x')]), 100);
    const path = join(store.storeDir(id), name);
    make(path);
    return { store, id, path };
  }

  it('streams a regular result, measured from the handle it reads', async () => {
    const { store, id } = await storeWith('result', (p) => writeFileSync(p, 'the result'));
    const file = await store.openResult(id);
    expect(file?.size).toBe(10);
    expect((await read(file!.stream)).toString()).toBe('the result');
  });

  it('refuses a result that is a symlink, and never follows it', async () => {
    const secret = join(mkdtempSync(join(tmpdir(), 'menagerie-secret-')), 'secret');
    writeFileSync(secret, 'host secret');
    const { store, id } = await storeWith('result', (p) => symlinkSync(secret, p));
    expect(await store.openResult(id)).toBeNull();
    // The console's preview reads through the same door.
    expect(await store.openResultFile(id)).toBeNull();
    expect(openOn(secret)).toBe(0);
  });

  it('refuses a result that is a FIFO or a directory, without waiting for a writer', async () => {
    const fifo = await storeWith('result', (p) => require('node:child_process').execFileSync('mkfifo', [p]));
    expect(await fifo.store.openResult(fifo.id)).toBeNull();
    expect(await fifo.store.openResultFile(fifo.id)).toBeNull();
    const dir = await storeWith('result', (p) => mkdirSync(p));
    expect(await dir.store.openResult(dir.id)).toBeNull();
  });

  it('closes the file when a reader destroys the stream mid-way', async () => {
    const { store, id, path } = await storeWith('result', (p) => writeFileSync(p, Buffer.alloc(4 * 1024 * 1024, 7)));
    const file = await store.openResult(id);
    expect(openOn(path)).toBe(1);
    file!.stream.destroy();
    await new Promise((r) => file!.stream.once('close', r));
    expect(openOn(path)).toBe(0);
  });

  it('serves the first maxBytes of the log, refuses a symlinked one, and says when there is none', async () => {
    const { store, id } = await storeWith('engine.log', (p) => writeFileSync(p, 'line one\nline two\n'));
    const log = await store.openLog(id, 8);
    expect({ size: log?.size, length: log?.length }).toEqual({ size: 18, length: 8 });
    expect((await read(log!.stream)).toString()).toBe('line one');
    const empty = await storeWith('engine.log', (p) => writeFileSync(p, ''));
    const none = await empty.store.openLog(empty.id, 8);
    expect({ size: none?.size, length: none?.length, bytes: (await read(none!.stream)).length }).toEqual({ size: 0, length: 0, bytes: 0 });
    const linked = await storeWith('engine.log', (p) => symlinkSync('/etc/passwd', p));
    expect(await linked.store.openLog(linked.id, 8)).toBeNull();
    const absent = await newStore();
    expect(await absent.openLog(randomUUID(), 8)).toBeNull();
  });
});
