import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SEALED_OPTIONS, type Scratch } from '@menagerie/storage';
import { bundleTar } from '../support/bundles';
import { canMount, mountsUnder, newScratch } from '../support/scratch';

// Root: with loop job directories, a node's copy of a bundle is a mount of its own. The rest: test/unit/node-bundles.spec.ts.

const loopIt = canMount ? it : it.skip;

/** The options of the mount on `path`, from the kernel's own table. */
function optionsAt(path: string): string[] | null {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === path)
    .pop();
  return line ? line.split(' ')[5].split(',') : null;
}

describe("a node's copies of the data bundles, sealed (loop job directories, root)", () => {
  let scratch: Scratch;
  beforeEach(async () => {
    scratch = await newScratch({ filesystem: 'loop', limitBytes: 16 * 1024 ** 2, spares: 0 });
  });
  afterEach(async () => {
    await scratch.bundles.removeAll();
    expect(mountsUnder(join(scratch.area, 'bundles'))).toEqual([]);
    await scratch.close();
  });

  loopIt('mounts each version on itself ro, nosuid, nodev, noexec: not even root writes to it', async () => {
    const { tar, digest } = await bundleTar({ 'a.yar': 'rule a' });
    const held = await scratch.bundles.hold(digest, async () => Readable.from([tar]));
    expect(held.sealed).toBe(true);
    expect(optionsAt(held.hostDir)).toEqual(expect.arrayContaining(SEALED_OPTIONS));
    expect(() => writeFileSync(join(held.hostDir, 'b.yar'), 'x')).toThrow(/EROFS|read-only/);
    const empty = await scratch.bundles.hold(null, async () => null);
    expect(empty.sealed).toBe(true);
    expect(optionsAt(empty.hostDir)).toEqual(expect.arrayContaining(SEALED_OPTIONS));
    held.release();
    empty.release();
  });

  loopIt('seals a copy again when its mount is gone (a host that rebooted), and sweeps it unmounted', async () => {
    const { tar, digest } = await bundleTar({ 'a.yar': 'rule a' });
    const fetch = jest.fn(async () => Readable.from([tar]));
    const first = await scratch.bundles.hold(digest, fetch);
    first.release();
    expect(await scratch.bundles.sweep(new Set([digest]))).toEqual([]);
    // What a reboot leaves: the directory without its mount.
    const { execFileSync } = await import('node:child_process');
    execFileSync('umount', [first.hostDir]);
    expect(optionsAt(first.hostDir)).toBeNull();
    const again = await scratch.bundles.hold(digest, fetch);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(again.sealed).toBe(true);
    expect(optionsAt(again.hostDir)).toEqual(expect.arrayContaining(SEALED_OPTIONS));
    again.release();
    expect(await scratch.bundles.sweep(new Set())).toEqual([digest]);
    expect(optionsAt(again.hostDir)).toBeNull();
  });
});
