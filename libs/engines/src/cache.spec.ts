import { cachedSince, cacheTtlOf } from './cache-key';

describe('cache eligibility', () => {
  it("serves from the cache within the engine's TTL, unless the upload forced a run", () => {
    expect(cacheTtlOf({ cacheTtl: 600 }, false)).toBe(600);
    expect(cacheTtlOf({ cacheTtl: 600 }, true)).toBe(0);
  });

  it('never serves an engine that caches nothing', () => {
    expect(cacheTtlOf({ cacheTtl: 0 }, false)).toBe(0);
    expect(cacheTtlOf({ cacheTtl: -5 }, false)).toBe(0);
  });

  it('counts the TTL back from now', () => {
    expect(cachedSince(60, 1_000_000).getTime()).toBe(940_000);
  });
});
