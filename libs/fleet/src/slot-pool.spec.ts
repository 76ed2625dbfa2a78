import { SlotPool } from './slot-pool';

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('SlotPool', () => {
  it('hands out up to its size, then makes acquirers wait for a release, in order', async () => {
    const pool = new SlotPool(1);
    expect(pool.tryAcquire()).toBe(true);
    expect(pool.tryAcquire()).toBe(false);
    const order: string[] = [];
    const first = pool.acquire().then(() => order.push('first'));
    const second = pool.acquire().then(() => order.push('second'));
    await settle();
    expect(order).toEqual([]);
    pool.release();
    await first;
    expect(order).toEqual(['first']);
    pool.release();
    await second;
    expect(order).toEqual(['first', 'second']);
  });

  it('lets waiters in when it grows, and takes nothing back when it shrinks', async () => {
    const pool = new SlotPool(1);
    await pool.acquire();
    const waiting = pool.acquire();
    pool.resize(2);
    await waiting;
    expect(pool.inUse).toBe(2);
    pool.resize(1);
    expect(pool.inUse).toBe(2);
    pool.release();
    expect(pool.tryAcquire()).toBe(false);
    pool.release();
    expect(pool.tryAcquire()).toBe(true);
  });

  it('rejects an aborted acquire with the signal reason, and gives its turn to the next one', async () => {
    const pool = new SlotPool(1);
    await pool.acquire();
    const abort = new AbortController();
    const aborted = pool.acquire(abort.signal);
    const next = pool.acquire();
    abort.abort(new Error('no longer needed'));
    await expect(aborted).rejects.toThrow('no longer needed');
    pool.release();
    await next;
    expect(pool.inUse).toBe(1);
  });
});
