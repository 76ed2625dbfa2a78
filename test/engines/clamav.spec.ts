import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import {
  catalogueEngine,
  field,
  runCatalogueDatacheck,
  runCatalogueEngine,
  samplePath,
  section,
  tagValues,
  writeBundle,
} from '../support/engine-container';
import { ROOT } from '../support/env';

/** The example bundle written here, as an operator would push it. */
const EXAMPLE_SIGNATURES = join(ROOT, 'engines/clamav/data/signatures');
const sample = (name: string) => samplePath('archives', name);
/** What make.sh recorded of marked.bin. */
const marked = (JSON.parse(readFileSync(sample('expected.json'), 'utf8')) as Record<string, { md5: string; size: number }>)['marked.bin'];
const BOTH = ['Menagerie.Test.Marker.UNOFFICIAL', 'Menagerie.Test.Sample.UNOFFICIAL'];

const scan = (name: string, signatures = EXAMPLE_SIGNATURES) => runCatalogueEngine('clamav', sample(name), { data: { signatures } });

describe('clamav engine (ClamAV clamscan), with signatures from a data bundle', () => {
  it('takes any file (no accepts)', () => {
    expect(refusesType(catalogueEngine('clamav'), 'application/octet-stream')).toBeNull();
  });

  it("the example bundle's hash signature is of marked.bin as the builder makes it", () => {
    const [md5, size] = readFileSync(join(EXAMPLE_SIGNATURES, 'menagerie-test.hdb'), 'utf8').trim().split(':');
    expect(
      createHash('md5')
        .update(readFileSync(sample('marked.bin')))
        .digest('hex'),
    ).toBe(marked.md5);
    expect([md5, Number(size)]).toEqual([marked.md5, marked.size]);
  });

  it('detects marked.bin by its body (.ndb) and its hash (.hdb): the names ClamAV gives, verdict malicious', async () => {
    const run = await scan('marked.bin');
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'av.signature')).toEqual(BOTH);
    expect(run.report?.verdict).toEqual({ value: 'malicious', reason: `ClamAV: ${BOTH.join(', ')}` });
    expect(section(run.report, 'Detections', 'table').rows).toEqual(BOTH.map((n) => [n, 'signature']));
    expect(field(run.report, 'ClamAV', 'Signatures loaded')).toBe('2');
    expect(field(run.report, 'ClamAV', 'Signature files')).toBe('menagerie-test.hdb, menagerie-test.ndb');
    const result = JSON.parse(run.result!.toString('utf8')) as { clamscan: { exit_code: number; output: string } };
    expect(result.clamscan.exit_code).toBe(1);
    expect(result.clamscan.output).toContain('/var/data/input: Menagerie.Test.Marker.UNOFFICIAL FOUND');
    expect(result.clamscan.output).not.toMatch(/^(Time|Start Date|End Date):/m);
  });

  it('detects marked.bin inside a zip, which ClamAV unpacks itself', async () => {
    const run = await scan('marked.zip');
    expect(tagValues(run.report, 'av.signature')).toEqual(BOTH);
    expect(run.report?.verdict?.value).toBe('malicious');
  });

  it('a clean file: no detection, no verdict', async () => {
    const run = await scan('clean.txt');
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'av.signature')).toEqual([]);
    expect(run.report?.verdict).toBeUndefined();
    expect(run.report?.summary).toBe('no ClamAV detection (2 signatures loaded)');
  });

  it('another bundle changes what is found, without a rebuild', async () => {
    const signatures = writeBundle({ 'stage2.ndb': `Local.Stage2.Url:0:*:${Buffer.from('menagerie.invalid/stage2').toString('hex')}\n` });
    const run = await scan('marked.bin', signatures);
    expect(tagValues(run.report, 'av.signature')).toEqual(['Local.Stage2.Url.UNOFFICIAL']);
  });

  it('with no bundle mounted it says so, and exits 0', async () => {
    const run = await scan('marked.bin', writeBundle({}));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toBe('no ClamAV signatures mounted at /signatures: nothing was scanned');
    expect(run.report?.tags).toEqual([]);
  });

  describe('its datacheck (/engine/check.sh) loads the bundle as clamscan does', () => {
    const BAD = { 'good.hdb': `${marked.md5}:${marked.size}:Good.Hash\n`, 'bad.ndb': 'Broken.Body:0:*:not-hex\n' };

    it('accepts the example bundle', async () => {
      const check = await runCatalogueDatacheck('clamav', EXAMPLE_SIGNATURES);
      expect(check.exitCode).toBe(0);
      expect(check.log).toMatch(/^ok: ClamAV \d+\.\d+\.\d+ loaded 2 signatures$/m);
    });

    it("refuses a malformed signature file, with LibClamAV's own message", async () => {
      const check = await runCatalogueDatacheck('clamav', writeBundle(BAD));
      expect(check.exitCode).toBe(1);
      expect(check.log).toContain('ERROR: ClamAV cannot load the signatures:');
      expect(check.log).toContain("LibClamAV Error: Can't load /signatures/bad.ndb: Malformed database");
    });

    it('refuses a bundle with no database file', async () => {
      const check = await runCatalogueDatacheck('clamav', writeBundle({ 'README.md': 'no signatures here' }));
      expect(check.exitCode).toBe(1);
      expect(check.log).toContain('ERROR: no database file (.hdb, .ndb, .ldb, .cvd, ...) in /signatures');
    });

    it('a malformed bundle fails the scan itself with the same message (exit 3)', async () => {
      const run = await scan('marked.bin', writeBundle(BAD));
      expect(run.exitCode).toBe(3);
      expect(run.log).toMatch(/ERROR: clamscan failed: .*Can't load \/signatures\/bad\.ndb: Malformed database/);
      expect(run.result).toBeNull();
    });
  });
});
