import { parseEngineChoice } from '@menagerie/core';
import { tooLargeMessage, uploadLimitFor } from '@menagerie/engines';
import type { Target } from './client';
import type { Engine } from './types';

type Limited = Pick<Engine, 'name' | 'sizelimit'>;

/** GET /engines shows each engine's name and sizelimit as its config has them. */
const asConfigured = (config: Limited) => ({ config });

/**
 * Why the API would refuse a file of `size` bytes for this target as too
 * large, or null if it would not, in the API's own words (uploadLimitFor and
 * tooLargeMessage of @menagerie/engines): over the engine's sizelimit; for a
 * submission, over a named engine's (the first in the order named), or for
 * auto, over every engine's (the docs/api.md's rule for /submit). Used only
 * to explain a dropped upload.
 */
export function oversizeFor(size: number, target: Target, engines: Limited[]): string | null {
  const refusal = (group: Limited[], named: boolean): string | null => {
    if (!group.length) return null;
    const { limit, limitOf } = uploadLimitFor(group.map(asConfigured), named);
    return size > limit ? tooLargeMessage(size, limitOf, limit) : null;
  };
  const called = (name: string) => engines.filter((e) => e.name === name);
  if (target.kind === 'engine') return refusal(called(target.engine), true);
  const choice = parseEngineChoice(target.engines);
  if (choice.auto) return refusal(engines, false);
  for (const name of choice.names) {
    const message = refusal(called(name), true);
    if (message) return message;
  }
  return null;
}
