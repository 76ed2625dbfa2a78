/**
 * Runs `task` over every item with at most `limit` running at once, and
 * answers the outcomes in the items' order. A task that throws does not stop
 * the others: its outcome is `{ ok: false, error }`. `onSettled` hears each
 * outcome as it happens (for a progress bar).
 */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  onSettled: (outcome: Outcome<R>, index: number) => void = () => undefined,
): Promise<Outcome<R>[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number of at least 1, not ${limit}`);
  const outcomes: Outcome<R>[] = new Array(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      let outcome: Outcome<R>;
      try {
        outcome = { ok: true, value: await task(items[index], index) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      outcomes[index] = outcome;
      onSettled(outcome, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return outcomes;
}
