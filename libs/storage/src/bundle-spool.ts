import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { packBundle, unpackBundle, type BundleFacts, type BundleLimits } from '@menagerie/engines';

/** A pushed bundle, checked and held on this process's disk until it is stored (or refused). */
export interface SpooledBundle {
  facts: BundleFacts;
  /** The canonical tar of what was pushed (sorted, 0644/0755, mtime 0, uid and gid 0), however it was packed. */
  tar(): Readable;
  /** Removes what was spooled; safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Takes a bundle's tar in (a push), checking each member as it comes
 * (unpackBundle), into a directory of its own under the system's temporary
 * directory; the canonical tar is packed from there. A refused tar (a
 * BundleError naming the member) leaves nothing, and `source` is left to
 * the caller (unpiped, not destroyed).
 */
export async function spoolBundle(source: Readable, limits?: BundleLimits): Promise<SpooledBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'menagerie-bundle-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    await mkdir(join(dir, 'bundle'), { mode: 0o700 });
    const { facts } = await unpackBundle(source, join(dir, 'bundle'), { limits });
    const packed = await packBundle(join(dir, 'bundle'), limits);
    return { facts, tar: () => packed.tar(), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
