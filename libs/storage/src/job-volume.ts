import { lstat, mkdir, open, readFile, realpath, rm, rmdir, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ToolRunner } from './tool-runner';

/**
 * A job directory as a filesystem of its own: a sparse ext4 image, loop-mounted
 * on the directory. The kernel then holds an engine to the image's size, which
 * a directory walk cannot: a file the engine unlinked but keeps open, empty
 * files and directories all take their room from the image, and the host's
 * disk never gives more than the image's size.
 */

/** One inode per 16 KiB of the limit (ext4's own default ratio), so empty files and directories run out too. */
export const BYTES_PER_INODE = 16 * 1024;
/** Smaller than this, ext4's own metadata would leave an engine next to nothing. */
export const MIN_VOLUME_BYTES = 1024 * 1024;

/**
 * - nosuid, nodev: nothing in an engine's scratch space is honoured as privileged;
 * - noexec: an engine reads its input and writes its result there, it never
 *   runs what it (or a sample that took it over) dropped there: Docker's /tmp
 *   tmpfs is noexec too, and the container's own filesystem is read-only;
 * - noinit_itable: the image is sparse and new, its inode tables already read
 *   as zeros, so the kernel need not write them out in the background.
 */
const MOUNT_OPTIONS = 'loop,nosuid,nodev,noexec,noatime,noinit_itable';

// A fixed PATH: root's own tools, never ones found through the caller's PATH.
const TOOL_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

/**
 * The runner for job volumes' tools (mkfs, mount, umount): a few long-lived shells, since a worker is
 * too big to fork cheaply three times a job (see ToolRunner). Its owner (Scratch) closes it.
 */
export function volumeTools(): ToolRunner {
  return new ToolRunner({ env: TOOL_ENV, timeoutMs: 60_000, shells: 4 });
}

export class VolumeError extends Error {
  override readonly name = 'VolumeError';
}

async function tool(tools: ToolRunner, file: string, args: string[]): Promise<void> {
  try {
    await tools.run(file, args);
  } catch (err) {
    throw new VolumeError((err as Error).message);
  }
}

export interface VolumeSpec {
  image: string;
  mountpoint: string;
  sizeBytes: number;
}

/**
 * Makes a fresh, empty ext4 image of `sizeBytes`. It is created new (never an
 * existing file, never through a symlink) and is sparse: the host's disk
 * gives only what the engine writes.
 */
export async function formatVolume(tools: ToolRunner, image: string, sizeBytes: number): Promise<void> {
  if (sizeBytes < MIN_VOLUME_BYTES) throw new VolumeError(`a job volume must be at least ${MIN_VOLUME_BYTES} bytes, not ${sizeBytes}`);
  const handle = await open(image, 'wx', 0o600);
  try {
    await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
  const inodes = Math.max(128, Math.floor(sizeBytes / BYTES_PER_INODE));
  // No journal and lazy tables: a job's scratch space need not survive a crash, and so mkfs takes milliseconds.
  await tool(tools, 'mkfs.ext4', [
    '-q',
    '-F',
    '-m',
    '0',
    '-N',
    String(inodes),
    '-O',
    '^has_journal',
    '-E',
    'lazy_itable_init=1,lazy_journal_init=1,nodiscard',
    image,
  ]);
}

/** Mounts a formatted image on `mountpoint` (an empty directory that must exist). */
export async function mountVolume(tools: ToolRunner, image: string, mountpoint: string): Promise<void> {
  await tool(tools, 'mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, image, mountpoint]);
  // An engine lists its job directory: it should find its input there and nothing of ours.
  await rm(join(mountpoint, 'lost+found'), { recursive: true, force: true });
}

/** A fresh image, mounted on `mountpoint`. */
export async function createVolume(tools: ToolRunner, { image, mountpoint, sizeBytes }: VolumeSpec): Promise<void> {
  await formatVolume(tools, image, sizeBytes);
  await mountVolume(tools, image, mountpoint);
}

/**
 * Whether `dir` holds a filesystem of its own (a job volume is mounted on it): its device is not
 * `parent`'s. Two stat calls, where the mount table is a read and a parse of every mount on the host
 * (each container adds some); blind only to a bind mount of the parent's own filesystem, which no job
 * volume is.
 */
export async function hasOwnFilesystem(dir: string, parent: string): Promise<boolean> {
  const [inner, outer] = await Promise.all([lstat(dir), lstat(parent)]);
  return inner.isDirectory() && inner.dev !== outer.dev;
}

/** The per-mount options (field 6: ro, nosuid, ...) of each mount on `path`, bottom first, from the kernel's own table. */
export async function mountOptionsAt(path: string): Promise<string[][]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const found: string[][] = [];
  for (const line of table.split('\n')) {
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
    const fields = line.split(' ');
    if (fields[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === path)
      found.push(fields[5].split(','));
  }
  return found;
}

/** How many mounts sit on `path` (stacked mounts count each). */
export async function mountsAt(path: string): Promise<number> {
  return (await mountOptionsAt(path)).length;
}

/**
 * Unmounts whatever is mounted on `dir`, which must be a real directory (a
 * symlink is refused, never followed) directly inside `area`. Returns whether
 * anything was mounted. A mount still busy (a process of ours with a file
 * open in it) is detached lazily: the kernel frees it when the last user goes.
 */
export async function unmountVolume(tools: ToolRunner, area: string, dir: string): Promise<boolean> {
  const info = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!info || !info.isDirectory()) return false;
  const realArea = await realpath(area);
  const target = join(realArea, dir.slice(dir.lastIndexOf('/') + 1));
  if (dirname(target) !== realArea || (await realpath(dir)) !== target) {
    throw new VolumeError(`refusing to unmount ${dir}: it is not directly inside ${area}`);
  }
  let unmounted = false;
  // Bounded: a stack of mounts is unwound, but a mount that will not go cannot spin us.
  for (let i = 0; i < 8 && (await mountsAt(target)) > 0; i++) {
    try {
      await tool(tools, 'umount', [target]);
    } catch (err) {
      if (/busy/i.test((err as Error).message)) await tool(tools, 'umount', ['-l', target]);
      // Someone else (the sweep, a finishing job) may have unmounted it meanwhile: the check above decides.
      else if ((await mountsAt(target)) > 0) throw err;
    }
    unmounted = true;
  }
  if ((await mountsAt(target)) > 0) throw new VolumeError(`${target} is still mounted after unmounting it`);
  return unmounted;
}

export interface VolumeUsage {
  usedBytes: number;
  /** What the engine can still write. */
  freeBytes: number;
  totalInodes: number;
  freeInodes: number;
}

export async function volumeUsage(mountpoint: string): Promise<VolumeUsage> {
  const s = await statfs(mountpoint);
  return {
    usedBytes: (s.blocks - s.bfree) * s.bsize,
    freeBytes: s.bavail * s.bsize,
    totalInodes: s.files,
    freeInodes: s.ffree,
  };
}

/**
 * Full enough that a write fails: ext4 keeps a few blocks back for its own
 * metadata, so an engine meets ENOSPC with some kilobytes still free.
 */
export function volumeIsFull(usage: VolumeUsage, sizeBytes: number): 'bytes' | 'inodes' | null {
  if (usage.freeInodes === 0) return 'inodes';
  const slack = Math.max(128 * 1024, Math.min(1024 * 1024, Math.floor(sizeBytes / 64)));
  return usage.freeBytes < slack ? 'bytes' : null;
}

/** Checks at boot that this process can make, mount and unmount a job volume, so a job never finds out instead. */
export async function probeVolumes(tools: ToolRunner, area: string): Promise<void> {
  const id = `probe-${process.pid}-${Date.now()}`;
  const image = join(area, `${id}.img`);
  const mountpoint = join(area, id);
  await mkdir(mountpoint, { mode: 0o700 });
  try {
    await createVolume(tools, { image, mountpoint, sizeBytes: MIN_VOLUME_BYTES });
    await unmountVolume(tools, area, mountpoint);
  } finally {
    await rmdir(mountpoint).catch(() => undefined);
    await rm(image, { force: true });
  }
}
