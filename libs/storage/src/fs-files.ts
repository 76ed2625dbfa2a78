import { constants } from 'node:fs';
import { chown, open, stat, type FileHandle } from 'node:fs/promises';
import { MenagerieError } from '@menagerie/core';

/**
 * Opens a file for reading without following a symlink, and measures it from
 * the handle; null when it is absent, a symlink or not a regular file.
 * O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused).
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number } | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return null;
    throw err;
  }
  try {
    const info = await handle.stat();
    if (info.isFile()) return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
  await handle.close();
  return null;
}

/**
 * Gives a file the owner of the directory it is kept in (whoever made the
 * store): a worker running as root must not leave files the API cannot serve.
 */
export async function matchOwner(file: string, dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await stat(dir);
  await chown(file, uid, gid);
}

export function isOutOfSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A full disk is STORAGE_FULL, for the caller to answer; any other failure is left as it is. */
export function translateFsError(err: unknown, what: string): unknown {
  if (isOutOfSpace(err))
    return new MenagerieError('STORAGE_FULL', `${what} is out of space; try again later or ask an operator to free space`);
  return err;
}
