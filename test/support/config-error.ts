import { ConfigError } from '@menagerie/core';

/** The problems a configuration error lists; fails the test when `fn` throws anything else, or nothing. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
