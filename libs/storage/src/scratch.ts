import { randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isJobId } from '@menagerie/core';
import { RESULT_HEAD_BYTES } from './describe-result';
import { isOutOfSpace, translateFsError } from './fs-files';
import {
  formatVolume,
  hasOwnFilesystem,
  MIN_VOLUME_BYTES,
  mountVolume,
  probeVolumes,
  unmountVolume,
  volumeIsFull,
  volumeUsage,
} from './job-volume';

/** What a node name may be (node.name): safe as one path segment. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export type ResultProblem = 'missing' | 'not-a-regular-file' | 'too-large';

/** Images kept formatted ahead, unless told otherwise: enough for a burst of jobs on a node to find one each. */
export const SPARE_VOLUMES = 4;

/**
 * How job directories are bounded. `loop`: each is an ext4 image of
 * `limitBytes`, loop-mounted on it, so the kernel refuses what does not fit
 * (needs root and loop devices). `plain`: a directory on the scratch root's
 * filesystem whose size is walked, which an engine can get past (a file it
 * unlinked but keeps open is never seen).
 */
export interface JobDirOptions {
  /** The node these job directories are for: each node has a part of the root of its own (see Scratch). */
  node: string;
  filesystem: 'loop' | 'plain';
  limitBytes: number;
  /** With `loop`: images kept formatted ahead (default SPARE_VOLUMES). */
  spares?: number;
}

export interface JobDirUsage {
  usedBytes: number;
  limitBytes: number;
  /** What ran out: the bytes, or the files and directories the volume can hold; null while neither has. */
  full: 'bytes' | 'inodes' | null;
  /** How many files and directories fit, when the filesystem bounds them (`loop`). */
  inodeLimit: number | null;
}

/** A result an engine left, open for reading. Either stream it (the stream closes the file) or close() it. */
export interface ScratchResult {
  readonly stream: Readable;
  size: number;
  /** Its first bytes (up to 4096), for describeResult. */
  head: Buffer;
  close(): Promise<void>;
}

/**
 * A node's job directories, in its own part of the scratch root,
 * `<root>/nodes/<node>` (the area): nodes that share a root (compose
 * replicas on one volume) never touch each other's. `<area>/jobs/<id>` is
 * the scratch directory mounted into the engine, and nothing else of the
 * host is. With `loop` job directories, `<area>/volumes/<id>.img` is the
 * image mounted on it. Scratch holds only what one run needs; what must last
 * is in the BlobStore.
 *
 * `<area>/spare` holds a few images formatted ahead (`spares`): a job
 * takes one and mounts it, so mkfs is not on its way. They are never
 * mounted before, and a new process of the node formats its own (it removes
 * what it finds there at init).
 */
export class Scratch {
  private readonly spares: string[] = [];
  private refilling: Promise<void> | null = null;
  private readonly removing = new Map<string, Promise<void>>();
  /** This node's part of the root. */
  readonly area: string;

  constructor(
    readonly root: string,
    private readonly options: JobDirOptions,
  ) {
    if (!NODE_NAME.test(options.node)) throw new Error(`not a node name: ${JSON.stringify(options.node)}`);
    this.area = join(root, 'nodes', options.node);
  }

  private get spareArea(): string {
    return join(this.area, 'spare');
  }

  private get jobsArea(): string {
    return join(this.area, 'jobs');
  }
  private get volumesArea(): string {
    return join(this.area, 'volumes');
  }
  private imagePath(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
    return join(this.volumesArea, `${id}.img`);
  }

  /** The host path of a job's directory, the one bind-mounted into its engine. */
  dir(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
    return join(this.jobsArea, id);
  }

  /** With `loop` job directories, fails unless this process can make, mount and unmount one: better at boot than in a job. */
  async init(): Promise<void> {
    await mkdir(join(this.root, 'nodes'), { recursive: true, mode: 0o711 });
    await mkdir(this.area, { recursive: true, mode: 0o711 });
    await mkdir(this.jobsArea, { recursive: true, mode: 0o711 });
    if (this.options.filesystem !== 'loop') return;
    if (this.options.limitBytes < MIN_VOLUME_BYTES) {
      throw new Error(
        `jobDirLimitBytes must be at least ${MIN_VOLUME_BYTES} with storage.jobDirFilesystem "loop", not ${this.options.limitBytes}`,
      );
    }
    await mkdir(this.volumesArea, { recursive: true, mode: 0o700 });
    try {
      await probeVolumes(this.volumesArea);
      // Formatted by an earlier process, for what may have been another limit: made anew.
      await rm(this.spareArea, { recursive: true, force: true });
      await mkdir(this.spareArea, { mode: 0o700 });
      this.refill();
    } catch (err) {
      throw new Error(
        `storage.jobDirFilesystem is "loop", but this process cannot mount a job directory of its own (${err instanceof Error ? err.message : String(err)}). ` +
          'Run the worker as root on a host with loop devices (/dev/loop-control), or set storage.jobDirFilesystem to "plain", ' +
          'where jobDirLimitBytes is only checked by walking the directory and a hostile engine can get past it.',
      );
    }
  }

  /**
   * Makes the engine's directory afresh (whatever an earlier attempt left is
   * removed, its volume unmounted), holding `input` under `inputfilename`,
   * owned by `owner`: the engine's user as the host sees it (`uid[:gid]`,
   * remapped on a daemon with user namespaces: hostUser in @menagerie/core).
   * On failure the directory is removed, and `input` is destroyed if it was
   * not read to its end.
   */
  async stage(id: string, inputfilename: string, owner: string, input: Readable): Promise<void> {
    const dir = this.dir(id);
    // Heard at once: an input that fails while the directory is being made is this stage's error, not an unhandled one.
    let failed: { err: unknown } | undefined;
    const onError = (err: unknown) => (failed ??= { err });
    input.on('error', onError);
    try {
      await this.remove(id);
      await mkdir(dir, { mode: 0o700 });
      if (this.options.filesystem === 'loop') {
        await this.takeVolume(id);
        await mountVolume(this.imagePath(id), dir);
        await chmod(dir, 0o700);
      }
      const target = join(dir, inputfilename);
      if (failed) throw failed.err;
      try {
        await pipeline(input, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      } catch (err) {
        if (!isOutOfSpace(err)) throw err;
        throw new Error(`the input of job ${id} does not fit in its job directory (jobDirLimitBytes ${this.options.limitBytes})`);
      }
      await giveTo(owner, dir, target);
    } catch (err) {
      input.destroy();
      await this.remove(id).catch(() => undefined);
      throw err;
    } finally {
      input.off('error', onError);
    }
  }

  /** Gives the job its image: a spare when there is one (then another is formatted in the background), else a new one. */
  private async takeVolume(id: string): Promise<void> {
    const spare = this.spares.pop();
    if (spare) await rename(spare, this.imagePath(id));
    else await formatVolume(this.imagePath(id), this.options.limitBytes);
    this.refill();
  }

  /** Formats spares up to `spares`, one at a time; a failure only leaves fewer (a job then formats its own). */
  private refill(): void {
    this.refilling ??= (async () => {
      while (this.spares.length < (this.options.spares ?? SPARE_VOLUMES)) {
        const image = join(this.spareArea, `${randomUUID()}.img`);
        try {
          await formatVolume(image, this.options.limitBytes);
        } catch {
          await rm(image, { force: true }).catch(() => undefined);
          return;
        }
        this.spares.push(image);
      }
    })().finally(() => (this.refilling = null));
  }

  /** Resolves once no spare is being formatted and no job directory removed (for tests and an orderly exit). */
  async settled(): Promise<void> {
    await Promise.all([this.refilling, ...this.removing.values()].map((p) => p?.catch(() => undefined)));
  }

  /**
   * How full a job directory is. A `loop` one is asked of its filesystem,
   * which counts what a walk cannot see (unlinked open files, metadata).
   */
  async usage(id: string): Promise<JobDirUsage> {
    const { filesystem, limitBytes } = this.options;
    const dir = this.dir(id);
    // Asked every second of a run: two stats, not a read of the host's mount table.
    if (filesystem === 'loop' && (await hasOwnFilesystem(dir, this.jobsArea))) {
      const usage = await volumeUsage(dir);
      return { usedBytes: usage.usedBytes, limitBytes, full: volumeIsFull(usage, limitBytes), inodeLimit: usage.totalInodes };
    }
    const usedBytes = await walkedSize(dir);
    return { usedBytes, limitBytes, full: usedBytes > limitBytes ? 'bytes' : null, inodeLimit: null };
  }

  /**
   * `<dir>/result`, opened without following a symlink (O_NOFOLLOW) and
   * measured from the handle: a symlink, FIFO, device or directory is refused,
   * never followed; so is a result over `maxBytes`.
   */
  async openResult(id: string, maxBytes: number): Promise<ResultProblem | ScratchResult> {
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir(id), 'result'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
      // A volume's image is sparse: what the engine wrote may still be only in memory, and the
      // host's disk may refuse it. Written back now, such a failure fails the job, not the data later.
      if (this.options.filesystem === 'loop') await handle.sync();
      const head = Buffer.alloc(Math.min(RESULT_HEAD_BYTES, info.size));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return openFile(handle, info.size, head.subarray(0, bytesRead));
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw translateFsError(err, `the scratch disk under ${this.root}`);
    }
  }

  /**
   * Removes a job directory: its volume is unmounted first (also one a crashed
   * worker left), then the directory and the image go. A symlink in its place
   * is removed, never followed. Idempotent.
   */
  remove(id: string): Promise<void> {
    // One removal of a job's directory at a time: the run's own, a sweep's and a retry's stage may meet.
    const under = this.removing.get(id);
    if (under) return under;
    const removal = (async () => {
      const dir = this.dir(id);
      await unmountVolume(this.jobsArea, dir);
      await rm(dir, { recursive: true, force: true });
      await rm(this.imagePath(id), { force: true });
    })().finally(() => this.removing.delete(id));
    this.removing.set(id, removal);
    return removal;
  }

  /** What the job directories here use now, together (the node's metrics); one removed while it is measured counts 0. */
  async usedBytes(): Promise<number> {
    let total = 0;
    for (const id of await this.list())
      total += await this.usage(id).then(
        (u) => u.usedBytes,
        () => 0,
      );
    return total;
  }

  /** The other nodes with a part of this root (compose replicas, or this node under an earlier name). */
  async otherNodes(): Promise<string[]> {
    const names = await readdir(join(this.root, 'nodes')).catch(() => [] as string[]);
    return names.filter((name) => name !== this.options.node && NODE_NAME.test(name)).sort();
  }

  /** The job directories of another node on this root, as that node laid them out: for sweeping a node that is gone. */
  ofNode(node: string): Scratch {
    return new Scratch(this.root, { ...this.options, node });
  }

  /**
   * Removes this node's part of the root: its job directories (unmounted
   * first), its spares and, once empty, the part itself. Only for a node
   * that is gone for good: a live one would lose what it runs.
   */
  async retire(): Promise<void> {
    for (const id of await this.list()) await this.remove(id);
    await rm(this.spareArea, { recursive: true, force: true });
    for (const dir of [this.jobsArea, this.volumesArea, this.area]) await rmdir(dir).catch(() => undefined);
  }

  /** Ids that have a job directory (or a volume image): what the node's sweep checks against the jobs that still run. */
  async list(): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await readdir(this.jobsArea).catch(() => [] as string[])) if (isJobId(name)) ids.add(name);
    for (const name of await readdir(this.volumesArea).catch(() => [] as string[])) {
      const id = name.replace(/\.img$/, '');
      if (name.endsWith('.img') && isJobId(id)) ids.add(id);
    }
    return [...ids];
  }
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
async function giveTo(user: string, dir: string, target: string): Promise<void> {
  const [uid, gid] = user.split(':').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  try {
    if (Number.isNaN(uid)) throw Object.assign(new Error('named user'), { code: 'EPERM' });
    await chown(dir, uid, Number.isNaN(gid ?? NaN) ? uid : gid);
    await chown(target, uid, Number.isNaN(gid ?? NaN) ? uid : gid);
    await chmod(target, 0o400);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await chmod(dir, 0o777);
    await chmod(target, 0o444);
  }
}

/** Bytes held in a directory's files, counted without following links: what `plain` job directories rely on. */
async function walkedSize(root: string): Promise<number> {
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
