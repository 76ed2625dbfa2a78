import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bundleFileName, type BundleBlobs, type OpenBlob, type StoredBlob } from './blob-store';
import { matchOwner, openRegularFile, translateFsError } from './fs-files';
import { metered } from './metered';

const PARTIAL = '.partial';

/**
 * The file store's bundles: `<root>/bundles/<hex>.tar`, beside `<root>/store`
 * (the jobs', which listIds walks), directory 0700 and files 0600. A put is
 * written under a name of its own ending in `.partial`, then renamed.
 */
export class FsBundles implements BundleBlobs {
  constructor(private readonly area: string) {}

  private pathOf(digest: string): string {
    return join(this.area, bundleFileName(digest));
  }

  async put(digest: string, source: Readable, limit: number): Promise<StoredBlob> {
    const target = this.pathOf(digest);
    const partial = `${target}.${randomUUID().slice(0, 8)}${PARTIAL}`;
    const { meter, result } = metered(limit);
    const metering = pipeline(source, meter);
    let writing: Promise<void> | undefined;
    try {
      await mkdir(this.area, { recursive: true, mode: 0o700 });
      writing = pipeline(meter, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      await Promise.all([metering, writing]);
      await matchOwner(partial, this.area);
      await rename(partial, target);
      return result();
    } catch (err) {
      meter.destroy();
      await metering.catch(() => undefined);
      // The file is removed once its stream is done with it: one still opening would make it again.
      await writing?.catch(() => undefined);
      await rm(partial, { force: true });
      throw translateFsError(err, `the file store at ${this.area}`);
    }
  }

  async open(digest: string): Promise<OpenBlob | null> {
    const file = await openRegularFile(this.pathOf(digest));
    return file && { stream: file.handle.createReadStream({ start: 0 }), size: file.size };
  }

  async exists(digest: string): Promise<boolean> {
    return (await lstat(this.pathOf(digest)).catch(() => null))?.isFile() ?? false;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  /** Removes the partial files of puts that started before `before` (their process died); returns how many. */
  async abortStale(before: Date): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.area).catch(() => [] as string[])) {
      const info = name.endsWith(PARTIAL) ? await lstat(join(this.area, name)).catch(() => null) : null;
      if (!info || info.mtimeMs >= before.getTime()) continue;
      await rm(join(this.area, name), { force: true });
      removed++;
    }
    return removed;
  }
}
