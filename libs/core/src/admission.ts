/** How often an upload tries between "lead" and "follow" while the identical job it would follow ends under it. */
export const ADMIT_TRIES = 3;

/** The steps of admitting a job that has a cache key; each answers null when the database says "not so". */
export interface AdmissionSteps<T> {
  /** Records the job as a leader, unless an identical job is queued or running. */
  lead(): Promise<T | null>;
  /** Records the job as that identical job's follower, unless it ended meanwhile. */
  follow(): Promise<T | null>;
  /** Records the job to run on its own, without its key (the worker records the key when it completes). */
  alone(): Promise<T>;
}

/**
 * The rule of admission for a job with a cache key: it leads, unless an
 * identical job is queued or running, which it then follows. Should identical
 * jobs keep ending as it arrives, it runs on its own after ADMIT_TRIES rounds.
 */
export async function admit<T>(steps: AdmissionSteps<T>, tries = ADMIT_TRIES): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const led = await steps.lead();
    if (led) return led;
    const followed = await steps.follow();
    if (followed) return followed;
  }
  return steps.alone();
}

/** Totals up to this are counted exactly; above, the planner's estimate is given instead, flagged as such (an exact count reads every matching row, seconds at 10 M). */
export const EXACT_TOTAL_LIMIT = 1_000;

/**
 * A page's total, from a count capped at EXACT_TOTAL_LIMIT + 1 and, when the
 * cap was reached, the planner's estimate: at least what the capped count saw,
 * as the planner can underestimate.
 */
export function pageTotal(capped: number, estimate: () => Promise<number>): Promise<{ total: number; exact: boolean }> {
  if (capped <= EXACT_TOTAL_LIMIT) return Promise.resolve({ total: capped, exact: true });
  return estimate().then((e) => ({ total: Math.max(Math.round(e), EXACT_TOTAL_LIMIT + 1), exact: false }));
}
