import { constants, createWriteStream } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, open, readdir, realpath, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MenagerieError, isJobId, type StoredResult } from '@menagerie/core';
import { createVolume, MIN_VOLUME_BYTES, mountsAt, probeVolumes, unmountVolume, volumeIsFull, volumeUsage } from './job-volume';
import { metered } from './metered';
import { safeStem, sniff } from './sniff';

export interface StoredInput {
  size: number;
  sha256: string;
}

export type ResultProblem = 'missing' | 'not-a-regular-file' | 'too-large';

/**
 * How job directories are bounded. `loop`: each is an ext4 image of
 * `limitBytes`, loop-mounted on it, so the kernel refuses what does not fit
 * (needs root and loop devices). `plain`: a directory on the store's
 * filesystem whose size is walked, which an engine can get past (a file it
 * unlinked but keeps open is never seen).
 */
export interface JobDirOptions {
  filesystem: 'loop' | 'plain';
  limitBytes: number;
}

export interface JobDirUsage {
  usedBytes: number;
  limitBytes: number;
  /** What ran out: the bytes, or the files and directories the volume can hold; null while neither has. */
  full: 'bytes' | 'inodes' | null;
  /** How many files and directories fit, when the filesystem bounds them (`loop`). */
  inodeLimit: number | null;
}

/**
 * One directory per job under `store/` keeps the input, the result and the
 * engine's log together; `jobs/<id>` is the scratch directory mounted into
 * the engine, and nothing else of the host is. With `loop` job directories,
 * `volumes/<id>.img` is the image mounted on `jobs/<id>`.
 *
 * Only a store given `jobDirs` (the worker's) stages job directories.
 */
export class JobStore {
  constructor(
    readonly root: string,
    private readonly jobDirs?: JobDirOptions,
  ) {}

  storeDir(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
    return join(this.root, 'store', id);
  }
  inputPath(id: string): string {
    return join(this.storeDir(id), 'input');
  }
  resultPath(id: string): string {
    return join(this.storeDir(id), 'result');
  }
  logPath(id: string): string {
    return join(this.storeDir(id), 'engine.log');
  }
  jobDir(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
    return join(this.root, 'jobs', id);
  }
  private get jobsArea(): string {
    return join(this.root, 'jobs');
  }
  private get volumesArea(): string {
    return join(this.root, 'volumes');
  }
  private imagePath(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
    return join(this.volumesArea, `${id}.img`);
  }

  /** With `loop` job directories, fails unless this process can make, mount and unmount one: better at boot than in a job. */
  async init(): Promise<void> {
    await mkdir(join(this.root, 'store'), { recursive: true, mode: 0o700 });
    await mkdir(this.jobsArea, { recursive: true, mode: 0o711 });
    if (this.jobDirs?.filesystem !== 'loop') return;
    if (this.jobDirs.limitBytes < MIN_VOLUME_BYTES) {
      throw new Error(`jobDirLimitBytes must be at least ${MIN_VOLUME_BYTES} with storage.jobDirFilesystem "loop", not ${this.jobDirs.limitBytes}`);
    }
    await mkdir(this.volumesArea, { recursive: true, mode: 0o700 });
    try {
      await probeVolumes(this.volumesArea);
    } catch (err) {
      throw new Error(
        `storage.jobDirFilesystem is "loop", but this process cannot mount a job directory of its own (${err instanceof Error ? err.message : String(err)}). ` +
          'Run the worker as root on a host with loop devices (/dev/loop-control), or set storage.jobDirFilesystem to "plain", ' +
          'where jobDirLimitBytes is only checked by walking the directory and a hostile engine can get past it.',
      );
    }
  }

  private requireJobDirs(): JobDirOptions {
    if (!this.jobDirs) throw new Error('this store was opened without job directory settings: only the worker stages jobs');
    return this.jobDirs;
  }

  /**
   * Streams an upload to disk, hashing as it goes. Past `limit` bytes it stops
   * reading and throws UPLOAD_TOO_LARGE; on any failure nothing is left behind.
   */
  async writeInput(id: string, source: Readable, limit: number): Promise<StoredInput> {
    const dir = this.storeDir(id);
    const partial = join(dir, 'input.partial');
    const { meter, result } = metered(limit);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await pipeline(source, meter, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      await rename(partial, this.inputPath(id));
      return result();
    } catch (err) {
      source.resume(); // keep the parser draining so the request can be answered
      await this.remove(id);
      throw translateFsError(err);
    }
  }

  /**
   * Makes the engine's scratch directory afresh (whatever an earlier attempt
   * left is removed, its volume unmounted), holding the input under
   * `inputfilename`, owned by the engine's user.
   */
  async stage(id: string, inputfilename: string, user: string): Promise<string> {
    const options = this.requireJobDirs();
    const dir = this.jobDir(id);
    await this.removeJobDir(id);
    await mkdir(dir, { mode: 0o700 });
    if (options.filesystem === 'loop') {
      try {
        await createVolume({ image: this.imagePath(id), mountpoint: dir, sizeBytes: options.limitBytes });
        await chmod(dir, 0o700);
      } catch (err) {
        await this.removeJobDir(id).catch(() => undefined);
        throw err;
      }
    }
    const target = join(dir, inputfilename);
    try {
      await copyFile(this.inputPath(id), target, constants.COPYFILE_EXCL);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
      throw new Error(`the input of job ${id} does not fit in its job directory (jobDirLimitBytes ${options.limitBytes})`);
    }
    const [uid, gid] = user.split(':').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
    try {
      if (Number.isNaN(uid)) throw Object.assign(new Error('named user'), { code: 'EPERM' });
      await chown(dir, uid, Number.isNaN(gid ?? NaN) ? uid : gid);
      await chown(target, uid, Number.isNaN(gid ?? NaN) ? uid : gid);
      await chmod(target, 0o400);
    } catch (err) {
      // Not root, or a user given by name: fall back to a directory anyone in the container can use.
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      await chmod(dir, 0o777);
      await chmod(target, 0o444);
    }
    return dir;
  }

  /**
   * Moves `<jobdir>/result` into the store. A symlink, device or directory is
   * refused, never followed; so is a result over `maxBytes`.
   */
  async collectResult(id: string, originalName: string, engine: string, maxBytes: number): Promise<StoredResult | ResultProblem> {
    const source = join(this.jobDir(id), 'result');
    let info;
    try {
      info = await lstat(source);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Collected already, by an attempt whose completion was never recorded (its worker died).
      return (await this.describeStoredResult(id, originalName, engine)) ?? 'missing';
    }
    if (!info.isFile()) return 'not-a-regular-file';
    if (info.size > maxBytes) return 'too-large';
    // O_NOFOLLOW closes the window between lstat and open.
    const handle = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
    const partial = join(this.storeDir(id), 'result.partial');
    try {
      // A volume's image is sparse: what the engine wrote may still be only in memory, and the
      // host's disk may refuse it. Written back now, such a failure fails the job, not the data later.
      if (this.jobDirs?.filesystem === 'loop') await handle.sync();
      const described = await describeResult(handle, info.size, originalName, engine);
      await pipeline(handle.createReadStream({ start: 0, autoClose: false }), createWriteStream(partial, { mode: 0o600 }));
      await matchOwner(partial, this.storeDir(id));
      await rename(partial, this.resultPath(id));
      return described;
    } catch (err) {
      await rm(partial, { force: true });
      throw translateFsError(err);
    } finally {
      await handle.close();
    }
  }

  private async describeStoredResult(id: string, originalName: string, engine: string): Promise<StoredResult | null> {
    let handle;
    try {
      handle = await open(this.resultPath(id), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return await describeResult(handle, (await handle.stat()).size, originalName, engine);
    } finally {
      await handle.close();
    }
  }

  async writeLog(id: string, log: Buffer): Promise<void> {
    await mkdir(this.storeDir(id), { recursive: true, mode: 0o700 });
    await writeFile(this.logPath(id), log, { mode: 0o600 });
    await matchOwner(this.logPath(id), this.storeDir(id));
  }

  /**
   * The stored result, opened once and measured from the open handle, so what
   * is measured is what is streamed. A symlink, or anything but a regular
   * file, is refused, never followed: null, as when there is none. The stream
   * owns the handle: ending or destroying it closes the file.
   */
  async openResult(id: string): Promise<{ stream: Readable; size: number } | null> {
    const file = await openRegularFile(this.resultPath(id));
    if (!file) return null;
    return { stream: file.handle.createReadStream({ start: 0 }), size: file.size };
  }

  /**
   * The stored result for positioned reads (the console's preview lists a zip
   * from its end); null when there is none or it isn't a regular file. The
   * caller closes the handle.
   */
  async openResultFile(id: string): Promise<{ handle: FileHandle; size: number } | null> {
    return openRegularFile(this.resultPath(id));
  }

  async hasInput(id: string): Promise<boolean> {
    return stat(this.inputPath(id)).then(
      () => true,
      () => false,
    );
  }

  /**
   * How full a job directory is. A `loop` one is asked of its filesystem,
   * which counts what a walk cannot see (unlinked open files, metadata).
   */
  async jobDirUsage(id: string): Promise<JobDirUsage> {
    const { filesystem, limitBytes } = this.requireJobDirs();
    const dir = this.jobDir(id);
    if (filesystem === 'loop' && (await mountsAt(await realpath(dir))) > 0) {
      const usage = await volumeUsage(dir);
      return { usedBytes: usage.usedBytes, limitBytes, full: volumeIsFull(usage, limitBytes), inodeLimit: usage.totalInodes };
    }
    const usedBytes = await this.walkedSize(dir);
    return { usedBytes, limitBytes, full: usedBytes > limitBytes ? 'bytes' : null, inodeLimit: null };
  }

  /** Bytes held in a directory's files, counted without following links: what `plain` job directories rely on. */
  private async walkedSize(root: string): Promise<number> {
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

  /**
   * Removes a job directory: its volume is unmounted first (also one a crashed
   * worker left), then the directory and the image go. A symlink in its place
   * is removed, never followed. Idempotent.
   */
  async removeJobDir(id: string): Promise<void> {
    const dir = this.jobDir(id);
    await unmountVolume(this.jobsArea, dir);
    await rm(dir, { recursive: true, force: true });
    await rm(this.imagePath(id), { force: true });
  }

  /** Removes everything stored for a job. */
  async remove(id: string): Promise<void> {
    await this.removeJobDir(id);
    await rm(this.storeDir(id), { recursive: true, force: true });
  }

  /** Ids that have a job directory (or a volume image): what the sweep checks against the jobs that still run. */
  async listJobDirs(): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await readdir(this.jobsArea).catch(() => [] as string[])) if (isJobId(name)) ids.add(name);
    for (const name of await readdir(this.volumesArea).catch(() => [] as string[])) {
      const id = name.replace(/\.img$/, '');
      if (name.endsWith('.img') && isJobId(id)) ids.add(id);
    }
    return [...ids];
  }

  /**
   * Ids that may be what a crash mid-upload left: a store directory whose
   * engine never ran (no result, no log), or a job directory or volume image,
   * with nothing in it modified since `before`; an upload still being written
   * is never one. Whether a row exists is for the caller to check.
   */
  async listAbandoned(before: Date): Promise<string[]> {
    const found: string[] = [];
    const seen = new Set<string>();
    for (const area of ['store', 'jobs', 'volumes'] as const) {
      for (const name of await readdir(join(this.root, area)).catch(() => [] as string[])) {
        if (area === 'volumes' && !name.endsWith('.img')) continue;
        const id = area === 'volumes' ? name.slice(0, -'.img'.length) : name;
        if (!isJobId(id) || seen.has(id)) continue;
        seen.add(id);
        if (area === 'store') {
          const entries = await readdir(this.storeDir(id)).catch(() => [] as string[]);
          if (entries.includes('result') || entries.includes('engine.log')) continue;
        }
        if ((await this.lastModified(id)) < before.getTime()) found.push(id);
      }
    }
    return found;
  }

  private async lastModified(id: string): Promise<number> {
    let newest = 0;
    for (const dir of [this.storeDir(id), this.jobDir(id)]) {
      const entries = await readdir(dir).catch(() => null);
      if (entries === null) continue;
      for (const path of [dir, ...entries.map((e) => join(dir, e))]) {
        const info = await lstat(path).catch(() => null);
        if (info) newest = Math.max(newest, info.mtimeMs);
      }
    }
    const image = await lstat(this.imagePath(id)).catch(() => null);
    if (image) newest = Math.max(newest, image.mtimeMs);
    return newest;
  }

  /**
   * The engine's stored log, opened like a result (a symlink is refused, never
   * followed), streaming its first `maxBytes` at most; null while there is none.
   * The stream owns the handle.
   */
  async openLog(id: string, maxBytes: number): Promise<{ stream: Readable; size: number; length: number } | null> {
    const file = await openRegularFile(this.logPath(id));
    if (!file) return null;
    const length = Math.min(file.size, maxBytes);
    if (length === 0) {
      await file.handle.close();
      return { stream: Readable.from([]), size: file.size, length };
    }
    return { stream: file.handle.createReadStream({ start: 0, end: length - 1 }), size: file.size, length };
  }
}

/** Names a result after its input and engine, with the extension and type its first bytes show. */
async function describeResult(handle: FileHandle, size: number, originalName: string, engine: string): Promise<StoredResult> {
  const head = Buffer.alloc(4096);
  const { bytesRead } = await handle.read(head, 0, head.length, 0);
  const kind = sniff(head.subarray(0, bytesRead));
  return { name: `${safeStem(originalName)}.${engine}${kind.extension}`, size, mime: kind.mime };
}

/**
 * Gives a file the owner of its job's store directory (whoever took the
 * upload): a worker running as root must not leave files the API cannot serve.
 */
async function matchOwner(file: string, dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await stat(dir);
  await chown(file, uid, gid);
}

function translateFsError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new MenagerieError('STORAGE_FULL', 'the result store is out of space; try again later or ask an operator to free space');
  }
  return err;
}

/**
 * Opens a stored file for reading without following a symlink, and measures
 * it from the handle; null when it is absent, a symlink or not a regular file.
 * O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused).
 */
async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number } | null> {
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
