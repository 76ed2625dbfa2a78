import { constants } from 'node:fs';
import { chmod, chown, lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { RESULT_HEAD_BYTES } from './describe-result';
import { translateFsError } from './fs-files';

/** Why there is no result to read. */
export type ResultProblem = 'missing' | 'not-a-regular-file' | 'too-large';

/** A result an engine left, open for reading. Either stream it (the stream closes the file) or close() it. */
export interface ScratchResult {
  readonly stream: Readable;
  size: number;
  /** Its first bytes (up to 4096), for describeResult. */
  head: Buffer;
  close(): Promise<void>;
}

/**
 * The result file at `path`, opened without following a symlink (O_NOFOLLOW)
 * and measured from the handle: a symlink, FIFO, device or directory is
 * refused, never followed; so is a result over `maxBytes`. With `sync`, what
 * was written is flushed to disk first.
 */
export async function openResultFile(path: string, maxBytes: number, sync: boolean, where: string): Promise<ResultProblem | ScratchResult> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ELOOP') return 'not-a-regular-file';
    throw err;
  }
  try {
    const info = await handle.stat();
    const problem: ResultProblem | null = !info.isFile() ? 'not-a-regular-file' : info.size > maxBytes ? 'too-large' : null;
    if (problem) {
      await handle.close();
      return problem;
    }
    if (sync) await handle.sync();
    const head = Buffer.alloc(Math.min(RESULT_HEAD_BYTES, info.size));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return openFile(handle, info.size, head.subarray(0, bytesRead));
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw translateFsError(err, where);
  }
}

/**
 * `root/path`, as openResultFile opens it, where no directory on the way is a
 * symlink either (each is checked with lstat, and the file itself is opened
 * with O_NOFOLLOW): a path an engine wrote can't lead out of its directory.
 * `path` is relative, without "." or ".." segments.
 */
export async function openFileInside(
  root: string,
  path: string,
  maxBytes: number,
  sync: boolean,
  where: string,
): Promise<ResultProblem | ScratchResult> {
  const segments = path.split('/');
  if (path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) return 'not-a-regular-file';
  let dir = root;
  for (const segment of segments.slice(0, -1)) {
    dir = join(dir, segment);
    const info = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw translateFsError(err, where);
    });
    if (!info) return 'missing';
    if (!info.isDirectory()) return 'not-a-regular-file';
  }
  return openResultFile(join(root, path), maxBytes, sync, where);
}

/** The handle is the stream's once asked for: it closes the file when it ends or is destroyed. */
function openFile(handle: FileHandle, size: number, head: Buffer): ScratchResult {
  let stream: Readable | undefined;
  let closed = false;
  return {
    size,
    head,
    get stream(): Readable {
      if (closed) throw new Error('this result was closed');
      return (stream ??= handle.createReadStream({ start: 0 }));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (stream) stream.destroy();
      else await handle.close();
    },
  };
}

/** The engine's user owns its directory and can read its input; not root, or a user given by name: anyone in the container can. */
export async function giveTo(user: string, dir: string, target?: string): Promise<void> {
  const [uid, gid] = user.split(':').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  try {
    if (Number.isNaN(uid)) throw Object.assign(new Error('named user'), { code: 'EPERM' });
    await chown(dir, uid, Number.isNaN(gid ?? NaN) ? uid : gid);
    if (target) await chown(target, uid, Number.isNaN(gid ?? NaN) ? uid : gid);
    if (target) await chmod(target, 0o400);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await chmod(dir, 0o777);
    if (target) await chmod(target, 0o444);
  }
}

/** Bytes held in a directory's files, counted without following links: what `plain` job directories rely on. */
export async function walkedSize(root: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else total += (await lstat(path).catch(() => null))?.size ?? 0;
    }
  };
  await walk(root);
  return total;
}
