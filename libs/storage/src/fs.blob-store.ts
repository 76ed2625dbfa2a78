import { randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, link, lstat, mkdir, opendir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MenagerieError, isJobId } from '@menagerie/core';
import { BLOB_NAMES, type BlobKind, type BlobStore, type OpenBlob, type StoredBlob } from './blob-store';
import { FsBundles } from './fs-bundles';
import { matchOwner, openRegularFile, translateFsError } from './fs-files';
import { metered } from './metered';

const PARTIAL = '.partial';

/**
 * Makes a job's directory; true when this call made it. One mkdir in the
 * common case (the store's area exists once init ran), rather than the
 * recursive form's walk up the path on every upload.
 */
async function makeDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return true;
  }
}

/**
 * A BlobStore in a directory: `<root>/store/<id>/{input,result,engine.log}`
 * (and the data bundles beside it, FsBundles),
 * directories 0700 and files 0600, the layout JobStore kept, so what it
 * stored is still served. A put is written beside its target under a name
 * of its own ending in `.partial`, and renamed into place once whole.
 */
export class FsBlobStore implements BlobStore {
  /** `<root>/bundles/<hex>.tar` (FsBundles). */
  readonly bundles: FsBundles;

  constructor(readonly root: string) {
    this.bundles = new FsBundles(join(root, 'bundles'));
  }

  private get area(): string {
    return join(this.root, 'store');
  }

  private dirOf(jobId: string): string {
    if (!isJobId(jobId)) throw new Error(`not a job id: ${JSON.stringify(jobId)}`);
    return join(this.area, jobId);
  }

  async put(jobId: string, kind: BlobKind, source: Readable, limit: number): Promise<StoredBlob> {
    const dir = this.dirOf(jobId);
    const target = join(dir, BLOB_NAMES[kind]);
    // A name of its own: a put that died may have left its partial, and a retry must not trip on it.
    const partial = `${target}.${randomUUID().slice(0, 8)}${PARTIAL}`;
    const { meter, result } = metered(limit);
    // Taken at once: a source that fails while the directory is being made is an error of this put, not an unhandled one.
    const metering = pipeline(source, meter);
    let writing: Promise<void> | undefined;
    try {
      const made = await makeDir(dir);
      writing = pipeline(meter, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      await Promise.all([metering, writing]);
      // A directory this put just made has the file's owner already: only an existing one (a result beside its input) is asked.
      if (!made) await matchOwner(partial, dir);
      await rename(partial, target);
      return result();
    } catch (err) {
      meter.destroy();
      await metering.catch(() => undefined);
      // The file is removed once its stream is done with it: one still opening would make it again.
      await writing?.catch(() => undefined);
      source.resume(); // keep the request draining so that it can be answered
      await rm(partial, { force: true });
      // A refused upload leaves no directory either; a result or a log leaves the input it belongs to.
      if (kind === 'input') await rmdir(dir).catch(() => undefined);
      throw translateFsError(err, `the file store at ${this.area}`);
    }
  }

  /** A symlink, FIFO or anything but a regular file is refused (null), never followed; what is measured is what is streamed. */
  async open(jobId: string, kind: BlobKind, range?: { start: number; end: number }): Promise<OpenBlob | null> {
    const file = await openRegularFile(join(this.dirOf(jobId), BLOB_NAMES[kind]));
    if (!file) return null;
    const { handle, size } = file;
    if (range && (range.start >= size || range.end < range.start)) {
      await handle.close();
      return { stream: Readable.from([]), size };
    }
    // The stream owns the handle: ending or destroying it closes the file.
    return { stream: handle.createReadStream(range ? { start: range.start, end: range.end } : { start: 0 }), size };
  }

  /** A hard link: the file's bytes are shared, and last until the last job keeping them is removed. */
  async share(from: string, to: string, kind: BlobKind): Promise<boolean> {
    const source = join(this.dirOf(from), BLOB_NAMES[kind]);
    const info = await lstat(source).catch(() => null);
    if (!info?.isFile()) return false;
    try {
      await makeDir(this.dirOf(to));
      await link(source, join(this.dirOf(to), BLOB_NAMES[kind]));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return false; // removed meanwhile
      if (code === 'EEXIST') return true; // shared already (a retry, or another replica settling the same job)
      throw translateFsError(err, `the file store at ${this.area}`);
    }
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.dirOf(jobId), { recursive: true, force: true });
  }

  /** Removes the partial files of puts that started before `before` and never finished (their process died). */
  async abortStaleUploads(before: Date): Promise<number> {
    let removed = await this.bundles.abortStale(before);
    for await (const id of this.eachId()) {
      for (const name of await readdir(this.dirOf(id)).catch(() => [] as string[])) {
        if (!name.endsWith(PARTIAL)) continue;
        const path = join(this.dirOf(id), name);
        const info = await lstat(path).catch(() => null);
        if (!info || info.mtimeMs >= before.getTime()) continue;
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /**
   * A page of the ids with a directory, in id order after `after`: one pass
   * over the directory that keeps only the `limit` smallest ids it meets, so
   * memory is a page whatever the store holds.
   */
  async listIds(after: string | null, limit: number): Promise<{ ids: string[]; next: string | null }> {
    const page: string[] = [];
    for await (const id of this.eachId()) {
      if (after !== null && id <= after) continue;
      if (page.length > limit && id >= page[page.length - 1]) continue;
      let lo = 0;
      let hi = page.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (page[mid] < id) lo = mid + 1;
        else hi = mid;
      }
      page.splice(lo, 0, id);
      // One past the page: whether there is a next one.
      if (page.length > limit + 1) page.pop();
    }
    const ids = page.slice(0, limit);
    return { ids, next: page.length > limit ? ids[ids.length - 1] : null };
  }

  /** The newest modification time of the job's directory and what is in it (a put still streaming counts); null when there is none. */
  async lastWritten(jobId: string): Promise<Date | null> {
    const dir = this.dirOf(jobId);
    const entries = await readdir(dir).catch(() => null);
    if (entries === null) return null;
    let newest = 0;
    for (const path of [dir, ...entries.map((e) => join(dir, e))]) {
      const info = await lstat(path).catch(() => null);
      if (info) newest = Math.max(newest, info.mtimeMs);
    }
    return new Date(newest);
  }

  /** The job ids with a directory, as the directory gives them, without reading them all into memory. */
  private async *eachId(): AsyncGenerator<string> {
    let dir;
    try {
      dir = await opendir(this.area);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw translateFsError(err, `the file store at ${this.area}`);
    }
    for await (const entry of dir) if (isJobId(entry.name)) yield entry.name;
  }

  async init(): Promise<void> {
    await mkdir(this.area, { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'bundles'), { recursive: true, mode: 0o700 });
  }

  async check(): Promise<void> {
    try {
      await access(this.area, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new MenagerieError('STORAGE_UNAVAILABLE', `the file store at ${this.area} cannot be used: ${code}`);
    }
  }

  async close(): Promise<void> {}
}
