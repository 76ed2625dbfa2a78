import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What `submit` will upload, and the arguments it could not take. */
export interface Inputs {
  files: string[];
  problems: { path: string; reason: string }[];
}

/**
 * The files named on the command line, each directory replaced by every
 * regular file under it, recursively, in name order. A symbolic link named on
 * the command line is followed; one met inside a directory is skipped, so a
 * walk never loops or leaves the tree it was given. Sockets, devices and FIFOs
 * are skipped. A file reached twice is uploaded once.
 */
export async function collectInputs(args: string[]): Promise<Inputs> {
  const files: string[] = [];
  const problems: Inputs['problems'] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (!seen.has(path)) {
      seen.add(path);
      files.push(path);
    }
  };

  async function walk(dir: string): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      problems.push({ path: dir, reason: reasonOf(err) });
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const info = await statOf(path, false);
      if (typeof info === 'string') problems.push({ path, reason: info });
      else if (info.isDirectory()) await walk(path);
      else if (info.isFile()) add(path);
    }
  }

  for (const arg of args) {
    const info = await statOf(arg, true);
    if (typeof info === 'string') problems.push({ path: arg, reason: info });
    else if (info.isDirectory()) await walk(arg);
    else if (info.isFile()) add(arg);
    else problems.push({ path: arg, reason: 'not a regular file or a directory' });
  }
  return { files, problems };
}

/** The path's kind (following a link or not), or why it could not be read. */
async function statOf(path: string, follow: boolean): Promise<Stats | string> {
  try {
    return await (follow ? stat(path) : lstat(path));
  } catch (err) {
    return reasonOf(err);
  }
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}
