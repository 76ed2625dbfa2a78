import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isJobId } from '@menagerie/core';
import { isOutOfSpace } from './fs-files';
import { giveTo, openFileInside, walkedSize, type ResultProblem, type ScratchResult } from './scratch-files';

export type { ResultProblem, ScratchResult } from './scratch-files';
import {
  hasOwnFilesystem,
  MIN_VOLUME_BYTES,
  mountVolume,
  probeVolumes,
  unmountVolume,
  volumeIsFull,
  volumeTools,
  volumeUsage,
} from './job-volume';
import { NodeBundles } from './node-bundles';
import { SpareVolumes } from './spare-volumes';
import type { ToolRunner } from './tool-runner';

export { SPARE_VOLUMES } from './spare-volumes';

/** What a node name may be (node.name): safe as one path segment. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

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

/**
 * A node's job directories, in its own part of the scratch root,
 * `<root>/nodes/<node>` (the area): nodes that share a root (compose
 * replicas on one volume) never touch each other's. `<area>/jobs/<id>` is
 * the scratch directory mounted into the engine, and nothing else of the
 * host is. With `loop` job directories, `<area>/volumes/<id>.img` is the
 * image mounted on it. Scratch holds only what one run needs; what must last
 * is in the BlobStore.
 *
 * `<area>/spare` holds a few images formatted ahead (`spares`, SpareVolumes),
 * and `<area>/bundles` the data bundles its engines mount (NodeBundles).
 */
export class Scratch {
  private readonly spares: SpareVolumes;
  private readonly removing = new Map<string, Promise<void>>();
  /** The shells that run the volumes' tools (mkfs, mount, umount): this one's, shared with the Scratches of ofNode. */
  private tools: ToolRunner = volumeTools();
  private ownsTools = true;
  /** This node's part of the root. */
  readonly area: string;
  /** This node's copies of the data bundles its engines mount, `<area>/bundles` (NodeBundles). */
  readonly bundles: NodeBundles;

  constructor(
    readonly root: string,
    private readonly options: JobDirOptions,
  ) {
    if (!NODE_NAME.test(options.node)) throw new Error(`not a node name: ${JSON.stringify(options.node)}`);
    this.area = join(root, 'nodes', options.node);
    this.spares = new SpareVolumes(join(this.area, 'spare'), () => this.tools, options.limitBytes, options.spares);
    this.bundles = new NodeBundles(join(this.area, 'bundles'), options.filesystem === 'loop', () => this.tools);
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
      await probeVolumes(this.tools, this.volumesArea);
      await this.spares.reset();
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
   * not read to its end. A null input leaves the directory empty (a datacheck's).
   */
  async stage(id: string, inputfilename: string, owner: string, input: Readable | null): Promise<void> {
    const dir = this.dir(id);
    // Heard at once: an input that fails while the directory is being made is this stage's error, not an unhandled one.
    let failed: { err: unknown } | undefined;
    const onError = (err: unknown) => (failed ??= { err });
    input?.on('error', onError);
    try {
      await this.remove(id);
      await mkdir(dir, { mode: 0o700 });
      if (this.options.filesystem === 'loop') {
        await this.spares.takeInto(this.imagePath(id));
        await mountVolume(this.tools, this.imagePath(id), dir);
        await chmod(dir, 0o700);
      }
      const target = join(dir, inputfilename);
      if (failed) throw failed.err;
      try {
        if (input) await pipeline(input, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      } catch (err) {
        if (!isOutOfSpace(err)) throw err;
        throw new Error(`the input of job ${id} does not fit in its job directory (jobDirLimitBytes ${this.options.limitBytes})`);
      }
      await giveTo(owner, dir, input ? target : undefined);
    } catch (err) {
      input?.destroy();
      await this.remove(id).catch(() => undefined);
      throw err;
    } finally {
      input?.off('error', onError);
    }
  }

  /** Resolves once no spare is being formatted and no job directory removed (for tests and an orderly exit). */
  async settled(): Promise<void> {
    await Promise.all([this.spares.settled(), ...[...this.removing.values()].map((p) => p.catch(() => undefined))]);
  }

  /**
   * For an orderly exit: once settled, stops the shells that ran the volumes' tools and removes
   * their temporary directories. A later use starts new ones (and needs closing again). A Scratch
   * of ofNode shares its maker's shells and leaves them to it.
   */
  async close(): Promise<void> {
    await this.settled();
    if (this.ownsTools) this.tools.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
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
   * A file the engine wrote, `<dir>/<path>` (`result`, `report.json`, a child
   * it extracted), opened without following a symlink anywhere on the path
   * and measured from the handle: a symlink, FIFO, device or directory is
   * refused, never followed; so is a file over `maxBytes`.
   */
  async openOutput(id: string, path: string, maxBytes: number): Promise<ResultProblem | ScratchResult> {
    // A volume's image is sparse: what the engine wrote may still be only in memory, and the
    // host's disk may refuse it. Written back now, such a failure fails the job, not the data later.
    return openFileInside(this.dir(id), path, maxBytes, this.options.filesystem === 'loop', `the scratch disk under ${this.root}`);
  }

  /** `<dir>/result`, as openOutput opens it. */
  openResult(id: string, maxBytes: number): Promise<ResultProblem | ScratchResult> {
    return this.openOutput(id, 'result', maxBytes);
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
      await unmountVolume(this.tools, this.jobsArea, dir);
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
    const other = new Scratch(this.root, { ...this.options, node });
    other.tools = this.tools;
    other.ownsTools = false;
    return other;
  }

  /**
   * Removes this node's part of the root: its job directories (unmounted
   * first), its spares and, once empty, the part itself. Only for a node
   * that is gone for good: a live one would lose what it runs.
   */
  async retire(): Promise<void> {
    for (const id of await this.list()) await this.remove(id);
    await this.spares.removeAll();
    await this.bundles.removeAll();
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
