/**
 * Waits for `work`, but no longer than `ms`: true when it settled in time
 * (resolved or rejected), false when the bound came first. Never throws; the
 * work goes on past the bound, unwaited.
 */
export async function settledWithin(work: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = Promise.resolve(work).then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`'s value, or the error `late()` makes when `ms` pass first (the work
 * goes on past the bound, unwaited; its later failure is not reported).
 */
export async function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(late()), ms)));
  work.catch(() => undefined); // a failure after the bound is nobody's to hear
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}
