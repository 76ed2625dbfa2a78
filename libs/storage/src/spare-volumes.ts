import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatVolume } from './job-volume';
import type { ToolRunner } from './tool-runner';

/** Images kept formatted ahead, unless told otherwise: enough for a burst of jobs on a node to find one each. */
export const SPARE_VOLUMES = 4;

/**
 * Job volume images formatted ahead, in `dir`, so that mkfs is not on a
 * job's way: a job takes one (then another is formatted in the background),
 * or formats its own when none is left. They are never mounted before they
 * are taken, and a new process formats its own (reset removes what an
 * earlier one left, made for what may have been another limit).
 */
export class SpareVolumes {
  private readonly images: string[] = [];
  private refilling: Promise<void> | null = null;

  constructor(
    private readonly dir: string,
    private readonly tools: () => ToolRunner,
    private readonly limitBytes: number,
    private readonly count = SPARE_VOLUMES,
  ) {}

  /** Removes what an earlier process formatted, then starts formatting this one's. */
  async reset(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { mode: 0o700 });
    this.refill();
  }

  /** Puts a formatted image at `image`: a spare when there is one, else a new one. */
  async takeInto(image: string): Promise<void> {
    const spare = this.images.pop();
    if (spare) await rename(spare, image);
    else await formatVolume(this.tools(), image, this.limitBytes);
    this.refill();
  }

  /** Formats spares up to `count`, one at a time; a failure only leaves fewer (a job then formats its own). */
  private refill(): void {
    this.refilling ??= (async () => {
      while (this.images.length < this.count) {
        const image = join(this.dir, `${randomUUID()}.img`);
        try {
          await formatVolume(this.tools(), image, this.limitBytes);
        } catch {
          await rm(image, { force: true }).catch(() => undefined);
          return;
        }
        this.images.push(image);
      }
    })().finally(() => (this.refilling = null));
  }

  /** Resolves once no spare is being formatted. */
  settled(): Promise<void> {
    return this.refilling?.catch(() => undefined) ?? Promise.resolve();
  }

  /** Removes the spares' directory (for a node that is gone for good). */
  async removeAll(): Promise<void> {
    this.images.length = 0;
    await rm(this.dir, { recursive: true, force: true });
  }
}
