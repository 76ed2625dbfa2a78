interface Waiter {
  grant(): void;
}

/**
 * A counting semaphore whose size can change while slots are held: what an
 * engine's `workers` bound needs, since a worker polling a task queue cannot
 * be replaced by another on the same queue in one process. A smaller size
 * takes nothing back; it holds new slots until enough have been released.
 */
export class SlotPool {
  private used = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private size: number) {}

  get limit(): number {
    return this.size;
  }

  get inUse(): number {
    return this.used;
  }

  resize(size: number): void {
    this.size = size;
    this.grantWaiting();
  }

  /** Takes a slot if one is free, without waiting. */
  tryAcquire(): boolean {
    if (this.used >= this.size || this.waiting.length > 0) return false;
    this.used++;
    return true;
  }

  /** Takes a slot once one is free; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    if (this.used === 0) throw new Error('SlotPool: release without a slot held');
    this.used--;
    this.grantWaiting();
  }

  private grantWaiting(): void {
    while (this.used < this.size && this.waiting.length > 0) {
      this.used++;
      this.waiting.shift()!.grant();
    }
  }
}
