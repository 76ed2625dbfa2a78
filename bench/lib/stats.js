'use strict';
/** The figures' arithmetic, the same in every benchmark. */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The p-th percentile of the samples (nearest rank). */
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** Rounded to `digits` decimals (one unless told). */
const round = (x, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** p50 and p95 of the samples, to a tenth. */
const p50p95 = (xs) => ({ p50: round(pct(xs, 50)), p95: round(pct(xs, 95)) });

/** p50, p95 and the largest of the samples, to a hundredth, and how many there were. */
function quantiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: round(pct(s, 50), 2), p95: round(pct(s, 95), 2), max: round(s[s.length - 1], 2), runs: s.length };
}

/** A high-resolution clock: `msSince(t0)` after `const t0 = hrNow()`. */
const hrNow = () => process.hrtime.bigint();
const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

module.exports = { sleep, pct, round, p50p95, quantiles, hrNow, msSince };
