import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
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
import { gzipSync } from 'node:zlib';
import {
  describeResult,
  safeStem,
  Scratch,
  SPARE_VOLUMES,
  sniff,
  type JobDirOptions,
  type ResultProblem,
  type ScratchResult,
} from '@menagerie/storage';

async function newScratch(options: Omit<JobDirOptions, 'node'> = { filesystem: 'plain', limitBytes: 1024 ** 3 }): Promise<Scratch> {
  const scratch = new Scratch(mkdtempSync(join(tmpdir(), 'menagerie-scratch-')), { node: 'node-a', ...options });
  await scratch.init();
  return scratch;
}
const from = (s: string | Buffer) => Readable.from([Buffer.from(s)]);
const read = async (stream: Readable) => Buffer.concat(await stream.toArray());
const opened = (r: ResultProblem | ScratchResult): ScratchResult => {
  if (typeof r === 'string') throw new Error(`expected a result, not ${r}`);
  return r;
};
/** How many of this process's descriptors are open on `path`. */
const openOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

describe('Scratch', () => {
  it("adds up what its job directories use (the node's scratch metric), 0 once they are gone", async () => {
    const scratch = await newScratch();
    const [a, b] = [randomUUID(), randomUUID()];
    await scratch.stage(a, 'in', '1000', from('x'.repeat(1000)));
    await scratch.stage(b, 'in', '1000', from('y'.repeat(500)));
    expect(await scratch.usedBytes()).toBe(1500);
    await Promise.all([scratch.remove(a), scratch.remove(b)]);
    expect(await scratch.usedBytes()).toBe(0);
  });

  it("stages the input under inputfilename in a job directory of its own, owned by the engine's user", async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'sample.apk', '1000', from('apk'));
    const dir = scratch.dir(id);
    expect(dir).toBe(join(scratch.area, 'jobs', id));
    expect(readdirSync(dir)).toEqual(['sample.apk']);
    expect(readFileSync(join(dir, 'sample.apk'), 'utf8')).toBe('apk');
    if (process.getuid?.() === 0) {
      expect(statSync(dir).uid).toBe(1000);
      expect([statSync(join(dir, 'sample.apk')).uid, statSync(join(dir, 'sample.apk')).mode & 0o777]).toEqual([1000, 0o400]);
    }
  });

  it('stages afresh over what an earlier attempt left', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('first'));
    writeFileSync(join(scratch.dir(id), 'left-by-attempt-1'), 'x');
    await scratch.stage(id, 'in', '1000', from('second'));
    expect(readdirSync(scratch.dir(id))).toEqual(['in']);
    expect(readFileSync(join(scratch.dir(id), 'in'), 'utf8')).toBe('second');
  });

  it('removes the job directory when the input breaks off while it is staged', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    const input = new Readable({ read() {} });
    const staged = scratch.stage(id, 'in', '1000', input);
    input.push(Buffer.alloc(1024));
    input.destroy(new Error('the store went away'));
    await expect(staged).rejects.toThrow('the store went away');
    expect(existsSync(scratch.dir(id))).toBe(false);
  });

  it('opens a regular result with its size and first bytes, and names it with describeResult', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    writeFileSync(join(scratch.dir(id), 'result'), '{"a": 1}');
    const result = opened(await scratch.openResult(id, 1000));
    expect({ size: result.size, head: result.head.toString() }).toEqual({ size: 8, head: '{"a": 1}' });
    expect(describeResult(result.head, result.size, '../../évil name.apk', 'filemeta')).toEqual({
      name: 'vil_name.filemeta.json',
      size: 8,
      mime: 'application/json',
    });
    expect((await read(result.stream)).toString()).toBe('{"a": 1}');
  });

  it('reads only the first 4096 bytes as the head, and streams the whole result from its start', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    const bytes = Buffer.alloc(100_000, 'a');
    writeFileSync(join(scratch.dir(id), 'result'), bytes);
    const result = opened(await scratch.openResult(id, 1_000_000));
    expect(result.head).toEqual(bytes.subarray(0, 4096));
    expect(await read(result.stream)).toEqual(bytes);
  });

  it("closes the result file on close(), on a stream's end, and on a stream destroyed mid-way", async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    const path = join(scratch.dir(id), 'result');
    writeFileSync(path, Buffer.alloc(4 * 1024 * 1024, 7));

    const unread = opened(await scratch.openResult(id, 8 * 1024 * 1024));
    expect(openOn(path)).toBe(1);
    await unread.close();
    await unread.close(); // twice is safe
    expect(openOn(path)).toBe(0);

    const whole = opened(await scratch.openResult(id, 8 * 1024 * 1024));
    await read(whole.stream);
    await new Promise((r) => (whole.stream.closed ? r(undefined) : whole.stream.once('close', r)));
    expect(openOn(path)).toBe(0);

    const cut = opened(await scratch.openResult(id, 8 * 1024 * 1024));
    cut.stream.destroy();
    await new Promise((r) => cut.stream.once('close', r));
    expect(openOn(path)).toBe(0);
  });

  it('refuses a result that is a symlink (never followed), a directory, a FIFO, or too large; says when there is none', async () => {
    const scratch = await newScratch();
    const secret = join(mkdtempSync(join(tmpdir(), 'menagerie-secret-')), 'secret');
    writeFileSync(secret, 'host secret');
    const staged = async () => {
      const id = randomUUID();
      await scratch.stage(id, 'in', '1000', from('x'));
      return id;
    };
    const linked = await staged();
    symlinkSync(secret, join(scratch.dir(linked), 'result'));
    expect(await scratch.openResult(linked, 1000)).toBe('not-a-regular-file');
    expect(openOn(secret)).toBe(0);

    const dir = await staged();
    mkdirSync(join(scratch.dir(dir), 'result'));
    expect(await scratch.openResult(dir, 1000)).toBe('not-a-regular-file');

    const fifo = await staged();
    execFileSync('mkfifo', [join(scratch.dir(fifo), 'result')]);
    expect(await scratch.openResult(fifo, 1000)).toBe('not-a-regular-file');

    const big = await staged();
    writeFileSync(join(scratch.dir(big), 'result'), Buffer.alloc(2000));
    expect(await scratch.openResult(big, 1000)).toBe('too-large');

    expect(await scratch.openResult(await staged(), 1000)).toBe('missing');
    expect(await scratch.openResult(randomUUID(), 1000)).toBe('missing');
  });

  it('removes a job directory, idempotently, and lists the ones there are', async () => {
    const scratch = await newScratch();
    const [kept, gone] = [randomUUID(), randomUUID()];
    await scratch.stage(kept, 'in', '1000', from('x'));
    await scratch.stage(gone, 'in', '1000', from('x'));
    expect((await scratch.list()).sort()).toEqual([kept, gone].sort());
    await scratch.remove(gone);
    await scratch.remove(gone);
    await scratch.remove(randomUUID());
    expect(await scratch.list()).toEqual([kept]);
    expect(await scratch.openResult(gone, 1000)).toBe('missing');
  });

  it('refuses ids that are not UUIDs, so no path can escape the scratch root', async () => {
    const scratch = await newScratch();
    expect(() => scratch.dir('../../etc')).toThrow(/not a job id/);
    await expect(scratch.stage('../x', 'in', '1000', from('x'))).rejects.toThrow(/not a job id/);
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

describe('Scratch with loop-mounted job directories', () => {
  const made: Scratch[] = [];
  async function loopScratch(): Promise<Scratch> {
    const scratch = await newScratch({ filesystem: 'loop', limitBytes: LIMIT });
    made.push(scratch);
    return scratch;
  }
  async function staged(scratch: Scratch, input = 'x'): Promise<string> {
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000:1000', from(input));
    return id;
  }
  afterEach(async () => {
    // Whatever a failed test left mounted goes, so no loop device outlives the suite.
    for (const scratch of made.splice(0)) {
      for (const id of await scratch.list()) await scratch.remove(id);
      expect(mountsUnder(scratch.root)).toEqual([]);
    }
  });

  loopIt("stages a filesystem of the limit's size holding only the input, owned by the engine's user, 0700", async () => {
    const scratch = await loopScratch();
    const id = await staged(scratch, 'apk');
    const dir = scratch.dir(id);
    expect(mountsUnder(scratch.root)).toEqual([dir]);
    expect(readdirSync(dir)).toEqual(['in']);
    expect(readFileSync(join(dir, 'in'), 'utf8')).toBe('apk');
    const info = statSync(dir);
    expect([info.uid, info.gid, info.mode & 0o777]).toEqual([1000, 1000, 0o700]);
    const fs = statfsSync(dir);
    expect(fs.blocks * fs.bsize).toBeLessThanOrEqual(LIMIT);
    expect(fs.blocks * fs.bsize).toBeGreaterThan(LIMIT * 0.9);
    // The image lives outside the job directory, sparse.
    const image = join(scratch.area, 'volumes', `${id}.img`);
    expect(statSync(image).size).toBe(LIMIT);
    expect(statSync(image).blocks * 512).toBeLessThan(LIMIT / 4);
    expect(await scratch.usage(id)).toMatchObject({ limitBytes: LIMIT, full: null });
  });

  loopIt('gives a job a spare image formatted ahead, formats another in its place, and a restarted node formats its own', async () => {
    const scratch = await loopScratch();
    await scratch.settled();
    const spareDir = join(scratch.area, 'spare');
    const inodes = () => new Map(readdirSync(spareDir).map((name) => [statSync(join(spareDir, name)).ino, name]));
    const before = inodes();
    expect(before.size).toBe(SPARE_VOLUMES);
    const id = await staged(scratch, 'apk');
    // The job's image is one of the spares, renamed (same inode), mounted, holding only the input.
    expect(before.has(statSync(join(scratch.area, 'volumes', `${id}.img`)).ino)).toBe(true);
    expect(readdirSync(scratch.dir(id))).toEqual(['in']);
    expect(mountsUnder(join(scratch.area, 'spare'))).toEqual([]);
    await scratch.settled();
    const after = inodes();
    expect(after.size).toBe(SPARE_VOLUMES);
    expect([...after.values()].filter((name) => ![...before.values()].includes(name))).toHaveLength(1);
    // A new process on the same root: what it finds in spare/ was formatted for a limit it cannot know.
    const restarted = new Scratch(scratch.root, { node: 'node-a', filesystem: 'loop', limitBytes: LIMIT });
    await restarted.init();
    await restarted.settled();
    const renewed = [...inodes().values()];
    expect(renewed).toHaveLength(SPARE_VOLUMES);
    expect(renewed.filter((name) => [...after.values()].includes(name))).toEqual([]);
  });

  loopIt('keeps two nodes on one scratch root apart: one starting does not take the spares the other is about to use', async () => {
    // Compose replicas (--scale worker=2) share one scratch volume.
    const a = await loopScratch();
    await a.settled();
    const b = new Scratch(a.root, { node: 'node-b', filesystem: 'loop', limitBytes: LIMIT });
    made.push(b);
    await b.init();
    await b.settled();
    // node-a's spares survived node-b's init: its next jobs take them (a rename that would fail with ENOENT had they gone).
    const first = await staged(a, 'a1');
    const second = await staged(b, 'b1');
    expect(readFileSync(join(a.dir(first), 'in'), 'utf8')).toBe('a1');
    expect(readFileSync(join(b.dir(second), 'in'), 'utf8')).toBe('b1');
    expect(a.dir(first).startsWith(join(a.root, 'nodes', 'node-a'))).toBe(true);
    expect(b.dir(second).startsWith(join(a.root, 'nodes', 'node-b'))).toBe(true);
    // Each lists only its own job directories, so neither's sweep removes the other's.
    expect(await a.list()).toEqual([first]);
    expect(await b.list()).toEqual([second]);
    // A restarted node-b renews only its own spares.
    const spares = (s: Scratch) => readdirSync(join(s.area, 'spare')).sort();
    const aSpares = spares(a);
    const restarted = new Scratch(a.root, { node: 'node-b', filesystem: 'loop', limitBytes: LIMIT });
    made.push(restarted);
    await restarted.init();
    await restarted.settled();
    expect(spares(a)).toEqual(aSpares);
    const third = await staged(a, 'a2');
    expect(readFileSync(join(a.dir(third), 'in'), 'utf8')).toBe('a2');
    await Promise.all([first, third].map((id) => a.remove(id)));
    await b.remove(second);
    await Promise.all([a, b, restarted].map((s) => s.settled()));
  });

  loopIt('refuses an input larger than the job directory, naming the limit, and leaves no directory or volume', async () => {
    const scratch = await loopScratch();
    const id = randomUUID();
    const input = Readable.from(
      (function* () {
        for (let i = 0; i < 20; i++) yield Buffer.alloc(1024 ** 2, 1);
      })(),
    );
    await expect(scratch.stage(id, 'in', '1000:1000', input)).rejects.toThrow(
      `the input of job ${id} does not fit in its job directory (jobDirLimitBytes ${LIMIT})`,
    );
    expect(mountsUnder(scratch.root)).toEqual([]);
    expect(await scratch.list()).toEqual([]);
  });

  loopIt('counts what a file unlinked but still open holds, and the host gives no more than the limit', async () => {
    const scratch = await loopScratch();
    const id = await staged(scratch);
    const path = join(scratch.dir(id), 'hidden');
    const fd = openSync(path, 'w');
    unlinkSync(path);
    let written = 0;
    try {
      const chunk = Buffer.alloc(1024 ** 2);
      expect(() => {
        for (;;) written += writeSync(fd, chunk);
      }).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(readdirSync(scratch.dir(id))).toEqual(['in']);
      const usage = await scratch.usage(id);
      expect(usage.full).toBe('bytes');
      expect(usage.usedBytes).toBeGreaterThan(LIMIT * 0.9);
    } finally {
      closeSync(fd);
    }
    expect(written).toBeLessThanOrEqual(LIMIT);
    expect(statSync(join(scratch.area, 'volumes', `${id}.img`)).blocks * 512).toBeLessThanOrEqual(LIMIT);
  });

  loopIt("bounds empty files and directories by the volume's inodes", async () => {
    const scratch = await loopScratch();
    const id = await staged(scratch);
    const dir = scratch.dir(id);
    let made = 0;
    expect(() => {
      for (; made < 100_000; made++) {
        if (made % 2) mkdirSync(join(dir, `d${made}`));
        else closeSync(openSync(join(dir, `f${made}`), 'w'));
      }
    }).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    const usage = await scratch.usage(id);
    expect(usage.full).toBe('inodes');
    expect(usage.inodeLimit).toBe(LIMIT / 16384);
    expect(made).toBeLessThan(LIMIT / 16384);
  });

  loopIt('opens a result written on the volume', async () => {
    const scratch = await loopScratch();
    const id = await staged(scratch);
    writeFileSync(join(scratch.dir(id), 'result'), 'from the engine');
    const result = opened(await scratch.openResult(id, 1000));
    expect((await read(result.stream)).toString()).toBe('from the engine');
  });

  loopIt('stages again on a fresh volume (a retry), and remove unmounts and removes the image', async () => {
    const scratch = await loopScratch();
    const id = await staged(scratch);
    writeFileSync(join(scratch.dir(id), 'left-by-attempt-1'), 'x');
    await scratch.stage(id, 'in', '1000:1000', from('x'));
    expect(readdirSync(scratch.dir(id))).toEqual(['in']);
    expect(mountsUnder(scratch.root)).toEqual([scratch.dir(id)]);
    await scratch.remove(id);
    await scratch.remove(id); // idempotent
    expect(mountsUnder(scratch.root)).toEqual([]);
    expect(readdirSync(join(scratch.area, 'jobs'))).toEqual([]);
    expect(readdirSync(join(scratch.area, 'volumes'))).toEqual([]);
  });

  loopIt("sweeps a volume a crashed worker left, and never follows a symlink in a job directory's place", async () => {
    const scratch = await loopScratch();
    const other = await loopScratch();
    const left = await staged(scratch);
    // A second process on the same scratch root (the restarted worker) finds the mount and the image.
    const restarted = new Scratch(scratch.root, { node: 'node-a', filesystem: 'loop', limitBytes: LIMIT });
    expect(await restarted.list()).toEqual([left]);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(scratch.dir(left), old, old);
    await restarted.remove(left);
    expect(mountsUnder(scratch.root)).toEqual([]);
    expect(existsSync(join(scratch.area, 'volumes', `${left}.img`))).toBe(false);

    // jobs/<id> as a symlink to another node's mounted job directory: the link goes, the mount stays.
    const foreign = await staged(other);
    const id = randomUUID();
    symlinkSync(other.dir(foreign), scratch.dir(id));
    await scratch.remove(id);
    expect(existsSync(scratch.dir(id))).toBe(false);
    expect(mountsUnder(other.root)).toEqual([other.dir(foreign)]);
    expect(readdirSync(other.dir(foreign))).toEqual(['in']);
  });

  it('refuses a limit too small for a filesystem, at init', async () => {
    const scratch = new Scratch(mkdtempSync(join(tmpdir(), 'menagerie-scratch-')), {
      node: 'node-a',
      filesystem: 'loop',
      limitBytes: 4096,
    });
    await expect(scratch.init()).rejects.toThrow(/jobDirLimitBytes must be at least/);
  });

  it('walks a plain job directory, which is full past the limit', async () => {
    const scratch = await newScratch({ filesystem: 'plain', limitBytes: 1000 });
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    expect(await scratch.usage(id)).toEqual({ usedBytes: 1, limitBytes: 1000, full: null, inodeLimit: null });
    writeFileSync(join(scratch.dir(id), 'big'), Buffer.alloc(1000));
    expect((await scratch.usage(id)).full).toBe('bytes');
  });
});
