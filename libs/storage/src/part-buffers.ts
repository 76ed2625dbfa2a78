import { MenagerieError } from '@menagerie/core';

/**
 * The memory a process gives multipart uploads, bounded: at most `count`
 * part buffers of `size` bytes exist at once, whatever clients do. A put
 * that needs one while all are taken waits for one, in turn, up to `waitMs`,
 * then fails UPLOADS_BUSY (503): a clear "try again shortly" rather than
 * memory without end. A buffer given back goes to the next in line, or to the
 * garbage collector.
 */
export class PartBuffers {
  private taken = 0;
  private readonly waiting: Array<{ give: (buffer: Buffer) => void }> = [];

  constructor(
    readonly count: number,
    readonly size: number,
    private readonly waitMs: number,
  ) {}

  /** How many are held now (for tests and the bench). */
  get inUse(): number {
    return this.taken;
  }

  acquire(): Promise<Buffer> {
    if (this.taken < this.count) {
      this.taken++;
      return Promise.resolve(Buffer.allocUnsafe(this.size));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const waiter = { give: resolve };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(
          new MenagerieError(
            'UPLOADS_BUSY',
            `this server is receiving as many large files as it holds memory for (${this.count} at once, storage.s3.partBuffers); try again shortly`,
          ),
        );
      }, this.waitMs);
      waiter.give = (buffer) => {
        clearTimeout(timer);
        resolve(buffer);
      };
      this.waiting.push(waiter);
    });
  }

  release(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next.give(buffer);
    else this.taken--;
  }
}
