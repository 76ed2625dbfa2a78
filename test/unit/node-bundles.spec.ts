import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Scratch } from '@menagerie/storage';
import { bundleTar as bundle } from '../support/bundles';
import { newScratch } from '../support/scratch';

/** A fetch of `tar` that counts its calls. */
function store(tar: Buffer | null) {
  const fetch = jest.fn(async () => (tar ? Readable.from([tar]) : null));
  return fetch;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("a node's copies of the data bundles (plain job directories: no mounts)", () => {
  let scratch: Scratch;
  beforeEach(async () => {
    scratch = await newScratch();
  });
  afterEach(async () => {
    await scratch.close();
  });

  it('syncs a version once from the store, read-only (files 0444, directories 0555), and reuses it', async () => {
    const { tar, digest } = await bundle({ 'a.yar': 'rule a', 'generic/b.yar': 'rule b' });
    const fetch = store(tar);
    const first = await scratch.bundles.hold(digest, fetch);
    expect(first.hostDir).toBe(join(scratch.area, 'bundles', digest.slice(7)));
    expect(first.sealed).toBe(false);
    expect(readFileSync(join(first.hostDir, 'generic/b.yar'), 'utf8')).toBe('rule b');
    expect([mode(join(first.hostDir, 'a.yar')), mode(join(first.hostDir, 'generic')), mode(first.hostDir)]).toEqual([0o444, 0o555, 0o555]);
    const second = await scratch.bundles.hold(digest, fetch);
    expect(second.hostDir).toBe(first.hostDir);
    expect(fetch).toHaveBeenCalledTimes(1);
    first.release();
    second.release();
  });

  it('syncs once for jobs that ask at the same moment', async () => {
    const { tar, digest } = await bundle({ 'a.yar': 'rule a' });
    const fetch = store(tar);
    const held = await Promise.all([0, 1, 2].map(() => scratch.bundles.hold(digest, fetch)));
    expect(new Set(held.map((h) => h.hostDir)).size).toBe(1);
    expect(fetch).toHaveBeenCalledTimes(1);
    held.forEach((h) => h.release());
  });

  it("refuses a tar that is not the digest's, and one the store does not have, leaving nothing", async () => {
    const { digest } = await bundle({ 'a.yar': 'rule a' });
    const other = await bundle({ 'a.yar': 'rule A' });
    await expect(scratch.bundles.hold(digest, store(other.tar))).rejects.toThrow(`holds ${other.digest}; it was not used`);
    await expect(scratch.bundles.hold(digest, store(null))).rejects.toThrow(`the data bundle ${digest} is not in the store`);
    expect(readdirSync(join(scratch.area, 'bundles'))).toEqual([]);
  });

  it('gives an empty read-only directory for a bundle with no version yet', async () => {
    const fetch = store(null);
    const held = await scratch.bundles.hold(null, fetch);
    expect(readdirSync(held.hostDir)).toEqual([]);
    expect(mode(held.hostDir)).toBe(0o555);
    expect(fetch).not.toHaveBeenCalled();
    held.release();
  });

  it('sweeps the versions it is not told to keep, once no run holds them', async () => {
    const [kept, old] = await Promise.all([bundle({ 'a.yar': 'new' }), bundle({ 'a.yar': 'old' })]);
    (await scratch.bundles.hold(kept.digest, store(kept.tar))).release();
    const held = await scratch.bundles.hold(old.digest, store(old.tar));
    expect(await scratch.bundles.sweep(new Set([kept.digest]))).toEqual([]);
    expect((await scratch.bundles.list()).sort()).toEqual([kept.digest, old.digest].sort());
    held.release();
    expect(await scratch.bundles.sweep(new Set([kept.digest]))).toEqual([old.digest]);
    expect(await scratch.bundles.list()).toEqual([kept.digest]);
    // Synced again when a job still asks for it.
    const again = await scratch.bundles.hold(old.digest, store(old.tar));
    expect(readFileSync(join(again.hostDir, 'a.yar'), 'utf8')).toBe('old');
    again.release();
  });

  it('goes with its node when the node is retired', async () => {
    const { tar, digest } = await bundle({ 'a.yar': 'rule a' });
    (await scratch.bundles.hold(digest, store(tar))).release();
    await scratch.retire();
    expect(await scratch.bundles.list()).toEqual([]);
  });
});
