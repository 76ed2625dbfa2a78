import type { TestEngine } from './engines-file';

/** The engines test/e2e/cache.spec.ts runs, each with a cache TTL of an hour. */

export const FILEMETA: TestEngine = { name: 'filemeta', cmd: '/engine/run.sh', workers: 2, cachettl: 3600 };
/** Runs for 3 s, then hands its input back as the result. */
export const SLOW: TestEngine = {
  name: 'slow',
  cmd: ['/bin/sh', '-c', 'sleep 3; cp "$MENAGERIE_MOUNTPOINT/input" "$MENAGERIE_MOUNTPOINT/result"'],
  workers: 2,
  cachettl: 3600,
};
/** Runs for 3 s, then fails (exit 3). */
export const FAILS: TestEngine = { name: 'fails', cmd: ['/bin/sh', '-c', 'sleep 3; exit 3'], workers: 2, cachettl: 3600 };
/** Outlives its 3 s timeout. */
export const STALLS: TestEngine = { name: 'stalls', cmd: ['sleep', '30'], timeout: 3, workers: 2, cachettl: 3600 };
