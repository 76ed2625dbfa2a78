'use strict';
/** Concurrent callers, as the benchmarks' clients run. */

/** Runs `fn` over `items` with `clients` concurrent loops; the answers in the items' order. */
async function pool(items, clients, fn) {
  let next = 0;
  const out = new Array(items.length);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** `clients` loops each calling `fn` `perClient` times, one call after the other; the seconds it all took. */
async function parallel(clients, perClient, fn) {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < perClient; i++) await fn();
    }),
  );
  return (performance.now() - started) / 1000;
}

module.exports = { pool, parallel };
