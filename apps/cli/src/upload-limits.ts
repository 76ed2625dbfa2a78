import type { Target } from './client';
import type { Engine } from './types';

/**
 * Why the API would refuse a file of `size` bytes for this target as too
 * large, or null if it would not: over the engine's sizelimit; for a
 * submission, over a named engine's, or for auto, over every engine's (the
 * docs/api.md's rule for /submit). Used only to explain a dropped upload.
 */
export function oversizeFor(size: number, target: Target, engines: Pick<Engine, 'name' | 'sizelimit'>[]): string | null {
  const over = (e: Pick<Engine, 'sizelimit'>) => size > e.sizelimit;
  const said = (e: Pick<Engine, 'name' | 'sizelimit'>) =>
    `the file (${size} bytes) is larger than engine ${e.name}'s limit of ${e.sizelimit} bytes`;
  if (target.kind === 'engine') {
    const engine = engines.find((e) => e.name === target.engine);
    return engine && over(engine) ? said(engine) : null;
  }
  if (target.engines === 'auto') {
    if (!engines.length || !engines.every(over)) return null;
    return `the file (${size} bytes) is larger than every engine's limit (the largest is ${Math.max(...engines.map((e) => e.sizelimit))} bytes)`;
  }
  const named = target.engines.split(',');
  const first = engines.find((e) => named.includes(e.name) && over(e));
  return first ? said(first) : null;
}
