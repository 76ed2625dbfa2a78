import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import {
  catalogueEngine,
  field,
  runCatalogueEngine,
  samplePath,
  section,
  tagValues,
  type EngineContainerRun,
} from '../support/engine-container';

/** What make.sh recorded beside the samples: each member's sha256, from the files the archives were made of. */
const expected = JSON.parse(readFileSync(samplePath('archives', 'expected.json'), 'utf8')) as Record<string, Record<string, string>>;
const sample = (name: string) => samplePath('archives', name);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The children of a run: each one's name in the archive, and the sha256 of the file the engine wrote. */
function children(run: EngineContainerRun): Record<string, string> {
  return Object.fromEntries((run.report?.children ?? []).map((c) => [c.name ?? '', sha256(join(run.dir, c.path))]));
}

/** Every file the engine left in the job directory, relative to it. */
function filesIn(dir: string, under = ''): string[] {
  return readdirSync(join(dir, under), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesIn(dir, join(under, e.name)) : [join(under, e.name)],
  );
}

describe('unpack engine (libarchive, 7-Zip for encrypted 7z), on archives made in the builder', () => {
  it('is routed every archive type detectType gives, and not a zip-based document or a text file', () => {
    const engine = catalogueEngine('unpack');
    for (const name of [
      'plain.zip',
      'plain.7z',
      'plain.rar',
      'plain.tar',
      'plain.tar.gz',
      'plain.tar.zst',
      'notes.txt.bz2',
      'notes.txt.xz',
    ])
      expect(refusesType(engine, detectType(readFileSync(sample(name))))).toBeNull();
    expect(refusesType(engine, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')).not.toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('clean.txt'))))).not.toBeNull();
  });

  describe('every member is a child, named by its path in the archive, with its bytes', () => {
    it.each([
      ['plain.zip', 'zip'],
      ['plain.7z', '7z'],
      ['plain.rar', 'rar'],
      ['plain.tar', 'tar'],
      ['plain.tar.gz', 'gzip'],
      ['plain.tar.zst', 'zstd'],
    ])('%s (%s)', async (name, format) => {
      const run = await runCatalogueEngine('unpack', sample(name));
      expect(run.exitCode).toBe(0);
      expect(children(run)).toEqual(expected.plain);
      expect(run.report?.children.every((c) => c.relation === 'extracted' && c.path.startsWith('children/'))).toBe(true);
      expect(tagValues(run.report, 'unpack.format')).toContain(format);
      expect(field(run.report, 'Archive', 'Files extracted')).toBe('3');
      expect(run.report?.verdict).toBeUndefined();
    });

    it.each([
      ['readme.txt.gz', 'gzip'],
      ['notes.txt.bz2', 'bzip2'],
    ])('a lone compressed file, %s: one child, named as gzip kept it (else "data")', async (name, format) => {
      const run = await runCatalogueEngine('unpack', sample(name));
      expect(children(run)).toEqual(expected[name]);
      expect(tagValues(run.report, 'unpack.format')).toEqual([format]);
    });

    it('notes.txt.xz: the same bytes as the bzip2 one', async () => {
      const run = await runCatalogueEngine('unpack', sample('notes.txt.xz'));
      expect(children(run)).toEqual(expected['notes.txt.bz2']);
    });
  });

  describe('passwords', () => {
    it.each([
      ['password.zip', 'infected', 'ZipCrypto'],
      ['password-aes.zip', 'malware', 'AES-256 zip'],
      ['password.7z', 'infected', '7z, headers encrypted too'],
    ])('%s opens with the password %s of the default list (%s), and says which', async (name, password) => {
      const run = await runCatalogueEngine('unpack', sample(name));
      expect(run.exitCode).toBe(0);
      expect(children(run)).toEqual(expected[name === 'password.7z' ? 'password.zip' : name]);
      expect(field(run.report, 'Archive', 'Password')).toBe(password);
      expect(tagValues(run.report, 'unpack.password')).toEqual([password]);
      expect(run.report?.summary).toContain(`password "${password}"`);
    });

    it('a password no list holds: no children, and the report says none of the configured passwords opened it', async () => {
      const run = await runCatalogueEngine('unpack', sample('unknown-password.zip'));
      expect(run.exitCode).toBe(0);
      expect(run.report?.children).toEqual([]);
      expect(tagValues(run.report, 'unpack.encrypted')).toEqual(['not-opened']);
      expect(field(run.report, 'Archive', 'Password')).toMatch(/^none opened it: Incorrect passphrase \(2 passwords tried\)$/);
    });

    it('the list is MENAGERIE_UNPACK_PASSWORDS (set in runflags): with that password added, the same archive opens', async () => {
      const run = await runCatalogueEngine('unpack', sample('unknown-password.zip'), {
        env: ['MENAGERIE_UNPACK_PASSWORDS=infected,menagerie-not-listed-24'],
      });
      expect(children(run)).toEqual({ 'readme.txt': expected.plain['readme.txt'] });
      expect(field(run.report, 'Archive', 'Password')).toBe('menagerie-not-listed-24');
    });
  });

  it('nested archives (a zip in a tar.gz in a 7z) are unpacked to the leaf, whose name is its path through them', async () => {
    const run = await runCatalogueEngine('unpack', sample('nested.7z'));
    expect(children(run)).toEqual(expected['nested.7z']);
    expect(tagValues(run.report, 'unpack.format').sort()).toEqual(['7z', 'gzip', 'tar', 'zip']);
    expect(field(run.report, 'Archive', 'Nested archives unpacked')).toBe('2');
    const outcomes = Object.fromEntries(section(run.report, 'Members', 'table').rows.map((r) => [r[1], r[5]]));
    expect(outcomes).toEqual({
      'level1.tar.gz': 'unpacked (gzip)',
      'level1.tar.gz/level2.zip': 'unpacked (zip)',
      'level1.tar.gz/level2.zip/deep.txt': 'child',
    });
  });

  describe('archive bombs: each limit is hit, reported with what hit it, and nothing crashes', () => {
    const limitHit = (run: EngineContainerRun, limit: string) => {
      expect(run.exitCode).toBe(0);
      expect(tagValues(run.report, 'unpack.limit')).toEqual([limit]);
      expect(run.report?.verdict).toEqual({ value: 'suspicious', reason: expect.stringContaining(`the ${limit} limit was hit`) });
      return field(run.report, 'Limits hit', limit);
    };

    it('ratio, before extracting: a zip member declaring 256 MiB from 255 KiB is refused, and nothing is written', async () => {
      const run = await runCatalogueEngine('unpack', sample('bomb-ratio.zip'));
      expect(limitHit(run, 'ratio')).toMatch(
        /^member zeros\.bin declares 256\.0 MiB: .* times the input's 254\.9 KiB, past the limit of 100$/,
      );
      expect(run.report?.children).toEqual([]);
      expect(filesIn(run.dir).sort()).toEqual(['input', 'report.json', 'result']);
    });

    it('ratio, while extracting: a gzip stream declaring no size is counted, cut past 16 MiB, and its partial file removed', async () => {
      const run = await runCatalogueEngine('unpack', sample('bomb-stream.gz'));
      expect(limitHit(run, 'ratio')).toMatch(/^while extracting data: 16\.\d MiB in all, \d+ times the input's .*, past the limit of 100$/);
      expect(filesIn(run.dir).sort()).toEqual(['input', 'report.json', 'result']);
    });

    it('count: 600 members against a limit of 500 stop at member 501, the 500 before it children', async () => {
      const run = await runCatalogueEngine('unpack', sample('bomb-count.zip'));
      expect(limitHit(run, 'count')).toBe('member 501 (many/0500.txt) is past the limit of 500 members');
      expect(run.report?.children).toHaveLength(500);
      expect(run.report?.children[499].name).toBe('many/0499.txt');
    });

    it('depth: seven zips, one in the other, are unpacked five levels deep; the sixth is left a child, packed', async () => {
      const run = await runCatalogueEngine('unpack', sample('deep.zip'));
      const name = 'd2.zip/d3.zip/d4.zip/d5.zip/d6.zip';
      expect(limitHit(run, 'depth')).toBe(`${name} (zip) is nested 6 archives deep, past the limit of 5`);
      expect(run.report?.children.map((c) => c.name)).toEqual([name]);
      expect(readFileSync(join(run.dir, run.report!.children[0].path)).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    });

    it('bytes (MENAGERIE_UNPACK_MAX_BYTES), on a declared size and on a stream', async () => {
      const declared = await runCatalogueEngine('unpack', sample('plain.zip'), { env: ['MENAGERIE_UNPACK_MAX_BYTES=4000'] });
      expect(limitHit(declared, 'bytes')).toBe('member bin/data.bin declares 4.0 KiB: 4.1 KiB in all, past the limit of 3.9 KiB');
      expect(Object.keys(children(declared)).sort()).toEqual(['docs/notes.txt', 'readme.txt']);
      const streamed = await runCatalogueEngine('unpack', sample('bomb-stream.gz'), { env: ['MENAGERIE_UNPACK_MAX_BYTES=1048576'] });
      expect(limitHit(streamed, 'bytes')).toMatch(/^while extracting data: 1\.\d MiB in all, past the limit of 1\.0 MiB$/);
      expect(streamed.report?.children).toEqual([]);
    });

    it('a limit that is not a number fails the run with an ERROR line (exit 3)', async () => {
      const run = await runCatalogueEngine('unpack', sample('plain.zip'), { env: ['MENAGERIE_UNPACK_MAX_RATIO=lots'] });
      expect(run.exitCode).toBe(3);
      expect(run.log).toContain("ERROR: MENAGERIE_UNPACK_MAX_RATIO must be a whole number of at least 1, not 'lots'");
      expect(run.report).toBeNull();
    });
  });

  describe('zip-slip: members that would leave the children directory are refused and reported', () => {
    it.each([
      [
        'slip.zip',
        { '../evil.txt': 'path traversal (..)', '/tmp/absolute.txt': 'absolute path', link: 'symlink to ../../../../etc/passwd' },
      ],
      [
        'slip.tar',
        {
          '../evil.txt': 'path traversal (..)',
          '/tmp/absolute.txt': 'absolute path',
          link: 'symlink to /etc/passwd',
          hard: 'hardlink to good.txt',
          dev: 'device',
          fifo: 'fifo',
        },
      ],
    ])('%s', async (name, refused) => {
      const run = await runCatalogueEngine('unpack', sample(name));
      expect(run.exitCode).toBe(0);
      expect(Object.keys(children(run))).toEqual(['good.txt']);
      expect(Object.fromEntries(section(run.report, 'Refused', 'table').rows.map(([member, , reason]) => [member, reason]))).toEqual(
        refused,
      );
      expect(run.report?.verdict).toEqual({
        value: 'suspicious',
        reason: 'members that would be written outside the extraction directory: ../evil.txt, /tmp/absolute.txt, link',
      });
      expect(tagValues(run.report, 'unpack.refused')).toContain('path-escape');
      expect(filesIn(run.dir).sort()).toEqual(['children/good.txt', 'input', 'report.json', 'result']);
    });
  });

  describe('what is not a whole archive is a report that says so (exit 0)', () => {
    it('a zip cut in half: the members before the cut are children, and the error is reported', async () => {
      const run = await runCatalogueEngine('unpack', sample('truncated.zip'));
      expect(run.exitCode).toBe(0);
      expect(children(run)).toEqual({ 'readme.txt': expected.plain['readme.txt'], 'docs/notes.txt': expected.plain['docs/notes.txt'] });
      expect(field(run.report, 'Archive', 'Read error: (the input)')).toBe('Truncated ZIP file data');
      expect(run.report?.summary).toContain('damaged: Truncated ZIP file data');
    });

    it('a text file: not an archive, no children', async () => {
      const run = await runCatalogueEngine('unpack', sample('clean.txt'));
      expect(run.exitCode).toBe(0);
      expect(run.report?.summary).toBe('not an archive unpack can read (Unrecognized archive format)');
      expect(run.report?.children).toEqual([]);
    });
  });
});
