import { randomUUID } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BundleError, isBundleDigest, unpackBundle } from '@menagerie/engines';
import { mountOptionsAt, unmountVolume, VolumeError } from './job-volume';
import type { ToolRunner } from './tool-runner';

/** What a mount of a bundle must say for an engine to get it (and so what a sealed copy is). */
export const SEALED_OPTIONS = ['ro', 'nosuid', 'nodev', 'noexec'];
/** The directory an engine gets for a bundle that no version was pushed of yet. */
const EMPTY = 'empty';
const TMP = '.tmp-';

/** The store's tar of a version is not that version (not a bundle, or another digest): no retry mends it. */
export class BundleSyncError extends Error {
  override readonly name = 'BundleSyncError';
}

/** A bundle version ready on this node, held until released (the sweep leaves it alone meanwhile). */
export interface HeldBundle {
  /** What to mount into the engine. */
  hostDir: string;
  /** The directory is a mount of its own that is ro, nosuid, nodev and noexec (SEALED_OPTIONS). */
  sealed: boolean;
  release(): void;
}

/**
 * A node's copies of the data bundles its jobs mount, `<area>/<hex>/` for
 * `sha256:<hex>`: each extracted once from the store's tar (with the same
 * checks as a push, and its digest checked), into a directory of its own
 * renamed into place whole, then made read-only: files 0444 and directories
 * 0555, and, with `loop` job directories (root), bound onto itself and
 * remounted ro, nosuid, nodev, noexec. One sync of a version at a time; jobs
 * that want it meanwhile wait for it.
 */
export class NodeBundles {
  private readonly holds = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly area: string,
    private readonly seal: boolean,
    private readonly tools: () => ToolRunner,
  ) {}

  private dirOf(digest: string | null): string {
    if (digest === null) return join(this.area, EMPTY);
    if (!isBundleDigest(digest)) throw new Error(`not a bundle digest: ${JSON.stringify(digest)}`);
    return join(this.area, digest.slice('sha256:'.length));
  }

  /** Runs `step` once no other step on `key` runs. */
  private async locked<T>(key: string, step: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(step);
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }
  }

  /**
   * The bundle version `digest` on this node, synced from `fetch` (the
   * store's tar; null when it has none) unless it is here already, and
   * sealed; null: the empty directory of a bundle with no version yet.
   */
  async hold(digest: string | null, fetch: () => Promise<Readable | null>): Promise<HeldBundle> {
    const dir = this.dirOf(digest);
    const key = digest ?? EMPTY;
    const sealed = await this.locked(key, async () => {
      await mkdir(this.area, { recursive: true, mode: 0o711 });
      if (!(await lstat(dir).catch(() => null))?.isDirectory()) {
        if (digest === null) await mkdir(dir, { mode: 0o555 });
        else await this.sync(digest, dir, fetch);
      }
      const ready = await this.sealOf(dir);
      this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
      return ready;
    });
    let released = false;
    return {
      hostDir: dir,
      sealed,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.holds.get(key) ?? 1) - 1;
        if (left > 0) this.holds.set(key, left);
        else this.holds.delete(key);
      },
    };
  }

  private async sync(digest: string, dir: string, fetch: () => Promise<Readable | null>): Promise<void> {
    const source = await fetch();
    if (!source) throw new Error(`the data bundle ${digest} is not in the store`);
    const tmp = join(this.area, `${TMP}${randomUUID()}`);
    try {
      await mkdir(tmp, { mode: 0o700 });
      const unpacked = await unpackBundle(source, tmp, { fileMode: 0o444 })
        .catch((err: unknown) => {
          throw err instanceof BundleError ? new BundleSyncError(`the store's tar of data bundle ${digest} ${err.message}`) : err;
        })
        .finally(() => source.destroy());
      if (unpacked.facts.digest !== digest)
        throw new BundleSyncError(`the store's tar of data bundle ${digest} holds ${unpacked.facts.digest}; it was not used`);
      // Deepest first, then the bundle itself: nothing in it can be written, whoever the engine runs as.
      for (const d of [...unpacked.directories].reverse()) await chmod(join(tmp, d), 0o555);
      await chmod(tmp, 0o555);
      await rename(tmp, dir);
    } catch (err) {
      await this.removeTree(tmp);
      throw err;
    }
  }

  /**
   * Whether `dir` is a sealed mount, sealing it first when this node seals:
   * bound onto itself, then remounted with SEALED_OPTIONS (a bind mount takes
   * its options only from a remount). A seal that does not hold is undone.
   */
  private async sealOf(dir: string): Promise<boolean> {
    if (isSealed(await mountOptionsAt(dir))) return true;
    if (!this.seal) return false;
    const tools = this.tools();
    try {
      await tools.run('mount', ['--bind', dir, dir]);
      await tools.run('mount', ['-o', `remount,bind,${SEALED_OPTIONS.join(',')}`, dir]);
      if (!isSealed(await mountOptionsAt(dir))) throw new VolumeError(`${dir} is not ${SEALED_OPTIONS.join(',')} after remounting it`);
    } catch (err) {
      await unmountVolume(tools, this.area, dir).catch(() => undefined);
      throw new VolumeError(`could not mount the data bundle at ${dir} read-only: ${(err as Error).message}`);
    }
    return true;
  }

  /** The versions on this node (sha256:<hex>), the empty directory aside. */
  async list(): Promise<string[]> {
    const names = await readdir(this.area).catch(() => [] as string[]);
    return names.map((n) => `sha256:${n}`).filter(isBundleDigest);
  }

  /**
   * Removes the versions not in `keep` that no run holds (unmounted first),
   * and what a sync that died left; returns the digests removed.
   */
  async sweep(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const digest of await this.list()) {
      if (!keep.has(digest) && (await this.discard(digest))) removed.push(digest);
    }
    for (const name of await readdir(this.area).catch(() => [] as string[])) {
      if (name.startsWith(TMP) && !this.locks.size) await this.removeTree(join(this.area, name));
    }
    return removed;
  }

  /** Removes one version unless a run holds it (a version its check refused); false when it is held. */
  async discard(digest: string): Promise<boolean> {
    return this.locked(digest, async () => {
      if (this.holds.has(digest)) return false;
      await this.removeTree(this.dirOf(digest));
      return true;
    });
  }

  /** Every version and the empty directory: for a node gone for good. */
  async removeAll(): Promise<void> {
    for (const name of await readdir(this.area).catch(() => [] as string[])) await this.removeTree(join(this.area, name));
    await rm(this.area, { recursive: true, force: true });
  }

  /** Unmounts `dir` (directly inside the area), makes its directories writable again, and removes it. */
  private async removeTree(dir: string): Promise<void> {
    if (!(await lstat(dir).catch(() => null))?.isDirectory()) return;
    await unmountVolume(this.tools(), this.area, dir);
    const open = async (d: string): Promise<void> => {
      await chmod(d, 0o700);
      for (const entry of await readdir(d, { withFileTypes: true })) if (entry.isDirectory()) await open(join(d, entry.name));
    };
    await open(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

function isSealed(mounts: string[][]): boolean {
  const top = mounts[mounts.length - 1];
  return top !== undefined && SEALED_OPTIONS.every((o) => top.includes(o));
}
