import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, opendir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Header } from 'tar-stream';
import {
  BUNDLE_LIMITS,
  BundleCheck,
  BundleError,
  bundleDirectories,
  bundleTarLimit,
  byPathBytes,
  type BundleFacts,
  type BundleFile,
  type BundleLimits,
} from './bundle';

/**
 * A bundle as a tar, both ways, with tar-stream: unpackBundle checks a tar
 * member by member as it extracts it; packBundle walks a directory and packs
 * it canonically (sorted, mode 0644/0755, mtime 0, uid and gid 0), the form
 * the store keeps and the CLI sends.
 */

export interface UnpackedBundle {
  facts: BundleFacts;
  files: BundleFile[];
  /** Every directory that holds a file, in UTF-8 byte order. */
  directories: string[];
}

export interface UnpackOptions {
  limits?: BundleLimits;
  /** The mode files are created with (0644). */
  fileMode?: number;
}

/** A pass-through that fails past `limit` bytes: the tar itself is bounded, not only what it holds. */
function bounded(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new BundleError(null, `the tar is larger than ${limit} bytes`, true));
      else done(null, chunk);
    },
  });
}

/** What tar-stream throws at bytes that are not a tar, in the words of a refused bundle. */
function tarFailure(err: unknown): unknown {
  if (err instanceof BundleError || !(err instanceof Error)) return err;
  if (/tar|header|unexpected end/i.test(err.message)) return new BundleError(null, `is not a valid tar archive: ${err.message}`);
  return err;
}

/**
 * Extracts the bundle tar `source` into `dir`, an empty directory: each
 * member is checked (BundleCheck) before a byte of it is written; files are
 * created new, never through a link (only directories and files are ever
 * made here), and hashed on the way. `source` is piped, never destroyed: on
 * a failure it is unpiped, for the caller to drain (an HTTP request it must
 * still answer) or destroy. Throws a BundleError naming the member at fault.
 */
export async function unpackBundle(source: Readable, dir: string, options: UnpackOptions = {}): Promise<UnpackedBundle> {
  const limits = options.limits ?? BUNDLE_LIMITS;
  const check = new BundleCheck(limits);
  const meter = bounded(bundleTarLimit(limits));
  const tar = extract();
  const onSourceError = (err: Error) => meter.destroy(err);
  source.once('error', onSourceError);
  source.pipe(meter);
  const feeding = pipeline(meter, tar as unknown as Writable);
  feeding.catch(() => undefined); // awaited below; a member refused first is the failure to report
  try {
    for await (const entry of tar) {
      const { path, kind } = check.enter(entry.header.name, entry.header.type, entry.header.size ?? 0);
      if (kind === 'directory') {
        entry.resume();
        if (path) await mkdir(join(dir, path), { recursive: true, mode: 0o755 });
        continue;
      }
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      const handle = await open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        options.fileMode ?? 0o644,
      );
      const hash = createHash('sha256');
      let size = 0;
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(entry, hashing, handle.createWriteStream());
      check.addFile(path, size, hash.digest('hex'));
    }
    await feeding;
  } catch (err) {
    source.unpipe(meter);
    meter.destroy();
    tar.destroy();
    throw tarFailure(err);
  } finally {
    source.off('error', onSourceError);
  }
  const { facts, files } = check.finish();
  return { facts, files, directories: bundleDirectories(files) };
}

/** A tar entry's type for a directory entry that is neither a file nor a directory. */
function otherType(info: { isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean }): string {
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isCharacterDevice()) return 'character-device';
  if (info.isBlockDevice()) return 'block-device';
  if (info.isFIFO()) return 'fifo';
  return 'socket';
}

export interface PackedBundle {
  /** Its files (path, size), in UTF-8 byte order. */
  files: Array<{ path: string; size: number }>;
  directories: string[];
  /** The canonical tar, read from the directory as it streams; a file that changed size meanwhile fails it. */
  tar(): Readable;
}

/**
 * Walks `dir` (followed if it is itself a link, never a link inside it) as a
 * bundle: only regular files and directories, within the bounds, else a
 * BundleError naming the path. Empty directories are left out, as a
 * bundle's digest has no place for them.
 */
export async function packBundle(dir: string, limits: BundleLimits = BUNDLE_LIMITS): Promise<PackedBundle> {
  if (!(await stat(dir)).isDirectory()) throw new BundleError(null, `${dir} is not a directory`);
  const check = new BundleCheck(limits);
  const files: Array<{ path: string; size: number }> = [];
  const walk = async (relative: string): Promise<void> => {
    for await (const entry of await opendir(join(dir, relative))) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const info = await lstat(join(dir, path));
      const type = info.isFile() ? 'file' : info.isDirectory() ? 'directory' : otherType(info);
      check.enter(path, type, info.size);
      if (info.isDirectory()) await walk(path);
      else files.push({ path, size: info.size });
    }
  };
  await walk('');
  if (!files.length) throw new BundleError(null, 'holds no file');
  files.sort((a, b) => byPathBytes(a.path, b.path));
  const directories = bundleDirectories(files);
  return { files, directories, tar: () => canonicalTar(dir, files, directories) };
}

const EPOCH = new Date(0);

/** Every header as the store keeps it: nothing of who made the bundle, or when. */
function header(name: string, type: 'file' | 'directory', size = 0): Partial<Header> & { name: string } {
  return { name, type, size, mode: type === 'file' ? 0o644 : 0o755, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
}

function canonicalTar(dir: string, files: PackedBundle['files'], directories: string[]): Readable {
  const tar = pack();
  const out = new PassThrough();
  const members = [...directories.map((path) => ({ path, size: -1 })), ...files].sort((a, b) => byPathBytes(a.path, b.path));
  const write = async () => {
    for (const { path, size } of members) {
      if (size < 0) {
        await new Promise<void>((resolve, reject) => tar.entry(header(path, 'directory'), (err) => (err ? reject(err) : resolve())));
        continue;
      }
      const handle = await open(join(dir, path), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        if ((await handle.stat()).size !== size) throw new BundleError(path, 'changed while it was being packed');
        const done = new Promise<void>((resolve, reject) => {
          const sink = tar.entry(header(path, 'file', size), (err) => (err ? reject(err) : resolve()));
          handle
            .createReadStream({ autoClose: false })
            .on('error', reject)
            .pipe(sink as unknown as Writable);
        });
        await done;
      } finally {
        await handle.close();
      }
    }
    tar.finalize();
  };
  write().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  tar.pipe(out);
  return out;
}
