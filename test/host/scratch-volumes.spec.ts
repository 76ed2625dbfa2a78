import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
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
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Scratch, SPARE_VOLUMES } from '@menagerie/storage';
import { canMount, mountsUnder, newScratch, staged } from '../support/scratch';
import { from, opened, read } from '../support/streams';

// Root and loop devices: each job directory a filesystem of its own. The rest of Scratch: test/unit/scratch.spec.ts.

const LIMIT = 16 * 1024 ** 2;
const loopIt = canMount ? it : it.skip;

describe('Scratch with loop-mounted job directories', () => {
  const made: Scratch[] = [];
  async function loopScratch(): Promise<Scratch> {
    const scratch = await newScratch({ filesystem: 'loop', limitBytes: LIMIT });
    made.push(scratch);
    return scratch;
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
});
