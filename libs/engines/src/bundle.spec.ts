import { createHash } from 'node:crypto';
import { bundleDigestsOf } from '@menagerie/core';
import { parseEngines, specWithBundles } from './engine';
import { BUNDLE_LIMITS, BundleCheck, BundleError, bundleDigest, bundleDirectories, bundlePath, isBundleDigest } from './bundle';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const small = { ...BUNDLE_LIMITS, files: 3, directories: 2, totalBytes: 100, pathBytes: 40, nameBytes: 10, depth: 3 };

/** The problem BundleCheck.enter or bundlePath gives, as a string; null when it takes the member. */
function refusal(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    return err.message;
  }
}

describe('a bundle digest', () => {
  const files = [
    { path: 'b.yar', sha256: sha('rule b') },
    { path: 'a/x.yar', sha256: sha('rule x') },
  ];

  it('is sha256: and the sha256 of the manifest, one "<path>\\0<sha256>\\n" line per file in UTF-8 byte order', () => {
    const manifest = `a/x.yar\0${sha('rule x')}\nb.yar\0${sha('rule b')}\n`;
    expect(bundleDigest(files)).toBe(`sha256:${sha(manifest)}`);
    expect(isBundleDigest(bundleDigest(files))).toBe(true);
  });

  it('does not depend on the order the files came in', () => {
    expect(bundleDigest([...files].reverse())).toBe(bundleDigest(files));
  });

  it('changes with any byte of a file, and with any name', () => {
    expect(bundleDigest([{ ...files[0], sha256: sha('rule B') }, files[1]])).not.toBe(bundleDigest(files));
    expect(bundleDigest([{ ...files[0], path: 'c.yar' }, files[1]])).not.toBe(bundleDigest(files));
  });

  it('sorts by bytes, not by UTF-16 code units (an astral character after U+FFxx)', () => {
    const a = { path: '\u{1F600}', sha256: sha('a') };
    const b = { path: '\uFF61', sha256: sha('b') };
    const manifest = `\uFF61\0${sha('b')}\n\u{1F600}\0${sha('a')}\n`;
    expect(bundleDigest([a, b])).toBe(`sha256:${sha(manifest)}`);
  });

  it('knows a digest from anything else', () => {
    expect(isBundleDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
    for (const bad of [`sha256:${'A'.repeat(64)}`, 'a'.repeat(64), `sha256:${'a'.repeat(63)}`, 42, null])
      expect(isBundleDigest(bad)).toBe(false);
  });
});

describe("a bundle member's path", () => {
  it('takes relative paths, less a leading ./ and a trailing /', () => {
    expect(bundlePath('rules/a.yar')).toBe('rules/a.yar');
    expect(bundlePath('./rules/a.yar')).toBe('rules/a.yar');
    expect(bundlePath('rules/')).toBe('rules');
    expect(bundlePath('./')).toBe('');
    expect(bundlePath('.')).toBe('');
  });

  it('refuses what leads out, absolute paths, "." and empty names, control characters, and names past the bounds', () => {
    expect(refusal(() => bundlePath('../x'))).toBe('"../x": leads out of the bundle (..)');
    expect(refusal(() => bundlePath('a/../../x'))).toMatch(/leads out/);
    expect(refusal(() => bundlePath('/etc/passwd'))).toMatch(/absolute/);
    expect(refusal(() => bundlePath('a/./b'))).toMatch(/"\." or an empty name/);
    expect(refusal(() => bundlePath('a//b'))).toMatch(/"\." or an empty name/);
    expect(refusal(() => bundlePath('a\nb'))).toMatch(/control character/);
    expect(refusal(() => bundlePath('bad\uFFFDname'))).toMatch(/not UTF-8/);
    expect(refusal(() => bundlePath('x'.repeat(41), small))).toMatch(/longer than 40 bytes/);
    expect(refusal(() => bundlePath('a/b/c/d', small))).toMatch(/more than 3 directories deep/);
    expect(refusal(() => bundlePath('a/elevenchars', small))).toMatch(/a name longer than 10 bytes/);
  });
});

describe('checking the members of a bundle', () => {
  it('takes files and directories, and gives the files in byte order with the digest', () => {
    const check = new BundleCheck();
    expect(check.enter('./', 'directory')).toEqual({ path: '', kind: 'directory' });
    expect(check.enter('./z.yar', 'file', 6)).toEqual({ path: 'z.yar', kind: 'file' });
    check.addFile('z.yar', 6, sha('rule z'));
    expect(check.enter('./a/', 'directory')).toEqual({ path: 'a', kind: 'directory' });
    expect(check.enter('a/', 'directory')).toEqual({ path: 'a', kind: 'directory' }); // named again: no harm
    check.enter('a/b.yar', 'file', 6);
    check.addFile('a/b.yar', 6, sha('rule b'));
    const { facts, files } = check.finish();
    expect(files.map((f) => f.path)).toEqual(['a/b.yar', 'z.yar']);
    expect(facts).toEqual({ digest: bundleDigest(files), size: 12, files: 2 });
  });

  it('refuses links, devices, FIFOs and sockets, naming the member', () => {
    for (const [type, what] of [
      ['symlink', 'is a symbolic link'],
      ['link', 'is a hard link'],
      ['character-device', 'is a character device'],
      ['block-device', 'is a block device'],
      ['fifo', 'is a FIFO'],
      ['socket', 'is a socket'],
    ]) {
      expect(refusal(() => new BundleCheck().enter('rules/evil', type))).toBe(
        `"rules/evil": ${what}; a bundle holds only regular files and directories`,
      );
    }
  });

  it('refuses a path twice, a member under a file, and the root as a file', () => {
    const check = new BundleCheck();
    check.enter('a.yar', 'file', 1);
    expect(refusal(() => check.enter('./a.yar', 'file', 1))).toBe('"./a.yar": appears twice');
    expect(refusal(() => check.enter('a.yar/', 'directory'))).toMatch(/appears twice/);
    expect(refusal(() => check.enter('a.yar/x', 'file', 1))).toBe('"a.yar/x": is inside a.yar, a file');
    expect(refusal(() => new BundleCheck().enter('.', 'file'))).toMatch(/in place of the bundle itself/);
  });

  it('refuses past its bounds, as too large, before a byte is read', () => {
    const tooLarge = (run: () => unknown) => {
      try {
        run();
      } catch (err) {
        return err instanceof BundleError && err.tooLarge ? err.message : `not too large: ${String(err)}`;
      }
      return 'taken';
    };
    const bytes = new BundleCheck(small);
    bytes.enter('a', 'file', 60);
    expect(tooLarge(() => bytes.enter('b', 'file', 41))).toBe('its files hold more than 100 bytes together');
    const count = new BundleCheck(small);
    for (const name of ['a', 'b', 'c']) count.enter(name, 'file', 1);
    expect(tooLarge(() => count.enter('d', 'file', 1))).toBe('holds more than 3 files');
    const dirs = new BundleCheck(small);
    dirs.enter('a', 'directory');
    dirs.enter('b', 'directory');
    expect(tooLarge(() => dirs.enter('c', 'directory'))).toBe('holds more than 2 directories');
  });

  it('refuses a bundle with no file', () => {
    const check = new BundleCheck();
    check.enter('empty/', 'directory');
    expect(refusal(() => check.finish())).toBe('holds no file');
  });

  it('names the directories that hold files, once each', () => {
    expect(bundleDirectories([{ path: 'a/b/c' }, { path: 'a/d' }, { path: 'e' }])).toEqual(['a', 'a/b']);
  });
});

describe("a job's spec with the engine's bundles", () => {
  const [engine, plain] = parseEngines(
    'engines.json',
    JSON.stringify({
      engines: [{ name: 'yara', data: { rules: '/rules', extra: '/extra' } }, { name: 'plain' }].map((e) => ({
        workers: 1,
        image: 'i',
        cmd: 'run',
        mountpoint: '/var/data',
        sizelimit: 1,
        inputfilename: 'input',
        user: 1000,
        timeout: 1,
        ...e,
      })),
    }),
    { regserver: '', uid: 1000 },
  );
  const rules = `sha256:${'1'.repeat(64)}`;

  it('mounts each declared bundle at its target, at the version given, or none yet', () => {
    const spec = specWithBundles(engine, { rules, gone: `sha256:${'2'.repeat(64)}` });
    expect(spec.data).toEqual({ rules: { target: '/rules', digest: rules }, extra: { target: '/extra', digest: null } });
    expect(bundleDigestsOf(spec)).toEqual({ rules, extra: null });
    expect(specWithBundles(engine, null).data).toEqual({
      rules: { target: '/rules', digest: null },
      extra: { target: '/extra', digest: null },
    });
  });

  it('leaves the spec of an engine without bundles as it is, and records none', () => {
    expect(specWithBundles(plain, { rules })).toBe(plain.spec);
    expect(bundleDigestsOf(plain.spec)).toBeNull();
  });
});
