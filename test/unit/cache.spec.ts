import { cacheKey, parseEngines, refusesType } from '@menagerie/engines';
import type { EngineSpec } from '@menagerie/core';
import { resultNameFor } from '@menagerie/storage';
import { problemsOf } from '../support/config-error';

const SPEC: EngineSpec = {
  name: 'apktool',
  image: 'menagerie/apktool:stable',
  cmd: ['/engine/run.sh'],
  mountpoint: '/var/data',
  inputfilename: 'sample.apk',
  user: '1000',
  timeout: 240,
  runflags: ['--memory', '2g', '-e', 'TOKEN'],
};
const BASE = { spec: SPEC, env: ['TOKEN=one'], imageDigest: 'sha256:' + 'a'.repeat(64), sha256: 'b'.repeat(64) };

describe('cacheKey: the one rule for what a cached result may answer', () => {
  it('is the same for the same engine, spec, environment, digest and input, whatever the order of the environment', () => {
    expect(cacheKey(BASE)).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey({ ...BASE, env: ['B=2', 'A=1'] })).toBe(cacheKey({ ...BASE, env: ['A=1', 'B=2'] }));
    expect(cacheKey({ ...BASE, spec: { ...SPEC } })).toBe(cacheKey(BASE));
  });

  it.each<[string, Partial<typeof BASE> | { spec: Partial<EngineSpec> }]>([
    ['the input', { sha256: 'c'.repeat(64) }],
    ['the image digest', { imageDigest: 'sha256:' + 'e'.repeat(64) }],
    ['an environment value (kept only hashed)', { env: ['TOKEN=two'] }],
    ['cmd', { spec: { cmd: ['/engine/run.sh', '--deep'] } }],
    ['the image reference', { spec: { image: 'menagerie/apktool:next' } }],
    ['user', { spec: { user: '1001' } }],
    ['a runflag', { spec: { runflags: ['--memory', '1g', '-e', 'TOKEN'] } }],
    ['mountpoint', { spec: { mountpoint: '/data' } }],
    ['inputfilename', { spec: { inputfilename: 'in.apk' } }],
    ['timeout', { spec: { timeout: 60 } }],
    ['the engine name', { spec: { name: 'apktool2' } }],
  ])('changes with %s', (_what, change) => {
    const changed = 'spec' in change ? { ...BASE, spec: { ...SPEC, ...change.spec } } : { ...BASE, ...change };
    expect(cacheKey(changed as typeof BASE)).not.toBe(cacheKey(BASE));
  });

  it('keeps no environment value in what it answers', () => {
    expect(cacheKey(BASE)).not.toContain('one');
  });

  describe("with the engine's data bundles", () => {
    const RULES = { rules: { target: '/rules', digest: `sha256:${'1'.repeat(64)}` } };
    const withData = (data: EngineSpec['data']) => ({ ...BASE, spec: { ...SPEC, data } });

    it('gives an engine without bundles the key it had before bundles existed', () => {
      // Computed by the key of before bundles (KEY_VERSION 1): stored keys of such engines still hit.
      expect(cacheKey(BASE)).toBe('eb7c498981cec9baa303570aaf07f471fa7e78666c06e2d1567c9168d1cc8737');
      expect(cacheKey(withData({}))).toBe(cacheKey(BASE));
    });

    it('changes with a bundle version, its mount point, and between none pushed and one', () => {
      const keys = [
        cacheKey(BASE),
        cacheKey(withData(RULES)),
        cacheKey(withData({ rules: { ...RULES.rules, digest: `sha256:${'2'.repeat(64)}` } })),
        cacheKey(withData({ rules: { ...RULES.rules, target: '/other' } })),
        cacheKey(withData({ rules: { ...RULES.rules, digest: null } })),
      ];
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('does not depend on the order engines.json names the bundles in', () => {
      const sigs = { target: '/sigs', digest: `sha256:${'3'.repeat(64)}` };
      expect(cacheKey(withData({ rules: RULES.rules, sigs }))).toBe(cacheKey(withData({ sigs, rules: RULES.rules })));
    });
  });
});

function enginesJson(extra: Record<string, unknown>): string {
  const engine = {
    name: 'apktool',
    workers: 1,
    image: 'apktool:stable',
    cmd: '/engine/run.sh',
    mountpoint: '/var/data',
    sizelimit: 1000,
    inputfilename: 'sample.apk',
    user: 1000,
    timeout: 60,
    ...extra,
  };
  return JSON.stringify({ engines: [engine] });
}
const vars = { regserver: '', uid: 1000 };

describe('engines.json: cachettl, accepts and rejects (optional, beyond the original format)', () => {
  it("takes default.json's cache.ttl unless the engine sets cachettl (0 turns it off)", () => {
    expect(parseEngines('e.json', enginesJson({}), vars, [], { cacheTtl: 600 })[0].cacheTtl).toBe(600);
    expect(parseEngines('e.json', enginesJson({ cachettl: 30 }), vars, [], { cacheTtl: 600 })[0].cacheTtl).toBe(30);
    expect(parseEngines('e.json', enginesJson({ cachettl: 0 }), vars, [], { cacheTtl: 600 })[0].cacheTtl).toBe(0);
    expect(problemsOf(() => parseEngines('e.json', enginesJson({ cachettl: -1 }), vars))[0]).toMatch(/cachettl/);
  });

  it('refuses a pattern that is not a regular expression, naming the field', () => {
    expect(problemsOf(() => parseEngines('e.json', enginesJson({ accepts: '(' }), vars))[0]).toMatch(/accepts.*valid regular expression/);
  });

  it('matches the detected type: accepts lets through only what matches, rejects turns away what matches, case-insensitively', () => {
    const [apk] = parseEngines('e.json', enginesJson({ accepts: '^application/vnd\\.android\\.package-archive$' }), vars);
    expect(refusesType(apk, 'application/vnd.android.package-archive')).toBeNull();
    expect(refusesType(apk, 'text/plain')).toMatch(/engine apktool accepts only files whose type matches .*, and this file is text\/plain/);
    const [noText] = parseEngines('e.json', enginesJson({ rejects: '^TEXT/' }), vars);
    expect(refusesType(noText, 'text/plain')).toMatch(/rejects files whose type matches/);
    expect(refusesType(noText, 'application/zip')).toBeNull();
    const [any] = parseEngines('e.json', enginesJson({}), vars);
    expect(refusesType(any, 'application/x-empty')).toBeNull();
  });
});

describe('resultNameFor: a result served again is named after the upload it answers', () => {
  it("keeps the original result's extension and engine, with the new upload's stem", () => {
    expect(resultNameFor({ resultName: 'first.apktool.tar.gz', originalName: 'first.apk' }, 'second copy.apk', 'apktool')).toBe(
      'second_copy.apktool.tar.gz',
    );
    expect(resultNameFor({ resultName: 'x.tar.tar.gz', originalName: 'x.bin' }, 'y.bin', 'tar')).toBe('y.tar.tar.gz');
  });
});
