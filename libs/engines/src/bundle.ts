import { createHash } from 'node:crypto';

/**
 * A data bundle (an engine's rules or signatures, engines.json `data`): a
 * tree of regular files and directories, nothing else, within these bounds.
 * Its version is its digest (bundleDigest): the same files give the same
 * digest however they were packed.
 */
export const BUNDLE_LIMITS = {
  /** The bytes of all its files together. */
  totalBytes: 256 * 1024 * 1024,
  files: 10_000,
  directories: 10_000,
  /** A path inside the bundle, in UTF-8 bytes, and each name on it. */
  pathBytes: 1024,
  nameBytes: 255,
  /** Names on a path. */
  depth: 32,
};
export type BundleLimits = typeof BUNDLE_LIMITS;

/** The most a bundle's tar may take: its files, and room for each entry's headers and padding (a PAX header, a long name). */
export function bundleTarLimit(limits: BundleLimits = BUNDLE_LIMITS): number {
  return limits.totalBytes + (limits.files + limits.directories) * 4096 + 64 * 1024;
}

/** `sha256:` and 64 lower-case hex digits: a bundle version. */
export const BUNDLE_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isBundleDigest(value: unknown): value is string {
  return typeof value === 'string' && BUNDLE_DIGEST.test(value);
}

/** Why a bundle is refused, naming the member at fault (null when it is the whole). */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly member: string | null,
    readonly problem: string,
    /** Over a size or count bound (an HTTP 413), rather than malformed (400). */
    readonly tooLarge = false,
  ) {
    super(member === null ? problem : `${JSON.stringify(member)}: ${problem}`);
  }
}

export interface BundleFile {
  path: string;
  size: number;
  /** Hex, of the file's bytes. */
  sha256: string;
}

/** What a bundle is: its digest, its files' bytes together, and their count. */
export interface BundleFacts {
  digest: string;
  size: number;
  files: number;
}

/** UTF-8 byte order: how manifests and canonical tars sort paths, whatever the language that reads them. */
export function byPathBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The digest of a bundle: `sha256:` and the sha256 of its manifest, one line
 * per file, `<path>\0<sha256 of its bytes>\n`, in UTF-8 byte order of the
 * paths. Directories are not in it: a bundle keeps no empty directory.
 */
export function bundleDigest(files: readonly Pick<BundleFile, 'path' | 'sha256'>[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => byPathBytes(a.path, b.path))) hash.update(`${f.path}\0${f.sha256}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** A C0 or C1 control character, or the replacement character a name that is not UTF-8 was decoded with. */
const UNPRINTABLE = /[\p{Cc}\uFFFD]/u;

/**
 * A member's path inside the bundle as a tar names it, or why it can't be:
 * relative, no `.` or `..` or empty names, printable UTF-8, within the
 * bounds. A leading `./` (what `tar -C dir .` writes) and a directory's
 * trailing `/` are taken off first; the root itself (`.`, `./`) is ''.
 */
export function bundlePath(name: string, limits: BundleLimits = BUNDLE_LIMITS): string {
  let path = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (path === '.' || path === '') return '';
  if (path.startsWith('/')) throw new BundleError(name, 'is an absolute path; a bundle holds relative paths only');
  if (UNPRINTABLE.test(path)) throw new BundleError(name, 'holds a control character or is not UTF-8');
  if (Buffer.byteLength(path) > limits.pathBytes) throw new BundleError(name, `is longer than ${limits.pathBytes} bytes`);
  const names = path.split('/');
  if (names.includes('..')) throw new BundleError(name, 'leads out of the bundle (..)');
  if (names.includes('.') || names.includes('')) throw new BundleError(name, 'holds a "." or an empty name');
  if (names.length > limits.depth) throw new BundleError(name, `is more than ${limits.depth} directories deep`);
  if (names.some((n) => Buffer.byteLength(n) > limits.nameBytes))
    throw new BundleError(name, `holds a name longer than ${limits.nameBytes} bytes`);
  path = names.join('/');
  return path;
}

/** A tar entry's type, as tar-stream names it; only these two make a bundle. */
export type BundleEntryKind = 'file' | 'directory';

const REFUSED_TYPES: Record<string, string> = {
  symlink: 'is a symbolic link',
  link: 'is a hard link',
  'character-device': 'is a character device',
  'block-device': 'is a block device',
  fifo: 'is a FIFO',
  socket: 'is a socket',
};

/**
 * Checks a bundle's members one at a time, as a tar or a directory walk
 * gives them, and keeps what the digest needs. Every path must be new
 * (a directory may be named again), and no member may sit under a file.
 */
export class BundleCheck {
  private readonly kinds = new Map<string, BundleEntryKind>();
  private readonly files: BundleFile[] = [];
  private bytes = 0;
  private fileCount = 0;
  private directories = 0;

  constructor(private readonly limits: BundleLimits = BUNDLE_LIMITS) {}

  /**
   * A member as its header gives it: its path in the bundle ('' for the
   * root), or a BundleError naming it. A file's size counts against the
   * bounds here, before a byte of it is read.
   */
  enter(name: string, type: string | null | undefined, size = 0): { path: string; kind: BundleEntryKind } {
    const kind = type === 'file' || type === 'contiguous-file' ? 'file' : type === 'directory' ? 'directory' : null;
    if (!kind)
      throw new BundleError(
        name,
        `${REFUSED_TYPES[type ?? ''] ?? `is of type ${type ?? 'unknown'}`}; a bundle holds only regular files and directories`,
      );
    const path = bundlePath(name, this.limits);
    if (path === '') {
      if (kind === 'file') throw new BundleError(name, 'is a file in place of the bundle itself');
      return { path, kind };
    }
    const names = path.split('/');
    for (let i = 1; i < names.length; i++) {
      if (this.kinds.get(names.slice(0, i).join('/')) === 'file')
        throw new BundleError(name, `is inside ${names.slice(0, i).join('/')}, a file`);
    }
    const seen = this.kinds.get(path);
    if (seen === 'file' || (seen && kind === 'file')) throw new BundleError(name, 'appears twice');
    if (seen) return { path, kind };
    this.kinds.set(path, kind);
    if (kind === 'directory') {
      if (++this.directories > this.limits.directories)
        throw new BundleError(null, `holds more than ${this.limits.directories} directories`, true);
      return { path, kind };
    }
    if (++this.fileCount > this.limits.files) throw new BundleError(null, `holds more than ${this.limits.files} files`, true);
    this.bytes += size;
    if (this.bytes > this.limits.totalBytes)
      throw new BundleError(null, `its files hold more than ${this.limits.totalBytes} bytes together`, true);
    return { path, kind };
  }

  /** A file's bytes were read whole: `size` as its header said, `sha256` their hash. */
  addFile(path: string, size: number, sha256: string): void {
    this.files.push({ path, size, sha256 });
  }

  /** The bundle's files in UTF-8 byte order, and its facts; a bundle with no file is refused. */
  finish(): { facts: BundleFacts; files: BundleFile[] } {
    if (!this.files.length) throw new BundleError(null, 'holds no file');
    const files = [...this.files].sort((a, b) => byPathBytes(a.path, b.path));
    return { facts: { digest: bundleDigest(files), size: this.bytes, files: files.length }, files };
  }
}

/** The directories a canonical tar names: every ancestor of a file, once, in UTF-8 byte order. */
export function bundleDirectories(files: readonly Pick<BundleFile, 'path'>[]): string[] {
  const dirs = new Set<string>();
  for (const { path } of files) {
    const names = path.split('/');
    for (let i = 1; i < names.length; i++) dirs.add(names.slice(0, i).join('/'));
  }
  return [...dirs].sort(byPathBytes);
}
