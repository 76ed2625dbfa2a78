import { mapBounded } from '../../../apps/cli/src/pool';

/** A promise settled from outside, so the test decides when each task ends. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('mapBounded', () => {
  it('never runs more than the limit at once, and starts the next as one ends', async () => {
    const gates = Array.from({ length: 5 }, () => deferred<number>());
    const started: number[] = [];
    const run = mapBounded(gates, 2, (gate, i) => {
      started.push(i);
      return gate.promise;
    });
    await flush();
    expect(started).toEqual([0, 1]);
    gates[1].resolve(1);
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[0].resolve(0);
    gates[2].resolve(2);
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3].resolve(3);
    gates[4].resolve(4);
    expect((await run).map((o) => (o.ok ? o.value : null))).toEqual([0, 1, 2, 3, 4]);
  });

  it('answers in the order of the items, a failure beside the successes', async () => {
    const seen: number[] = [];
    const outcomes = await mapBounded(
      [3, 1, 2],
      3,
      async (n) => {
        await new Promise((r) => setImmediate(r));
        if (n === 1) throw new Error('one');
        return n * 10;
      },
      (_, i) => seen.push(i),
    );
    expect(outcomes).toEqual([
      { ok: true, value: 30 },
      { ok: false, error: new Error('one') },
      { ok: true, value: 20 },
    ]);
    expect(seen.sort()).toEqual([0, 1, 2]);
  });

  it('handles no items, and refuses a limit below 1', async () => {
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
    await expect(mapBounded([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });
});
