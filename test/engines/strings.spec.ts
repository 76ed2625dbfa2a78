import { readFileSync } from 'node:fs';
import { field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

/** What make.sh put into the samples (the indicators, FLOSS's strings), beside them in expected.json. */
interface Written {
  indicators: Record<string, string[]>;
  stack_strings?: string[];
  tight_strings?: string[];
}
const expected = JSON.parse(readFileSync(samplePath('binaries', 'expected.json'), 'utf8')) as Record<string, Written>;
const KINDS = ['ioc.url', 'ioc.domain', 'ioc.ip', 'ioc.email'];
/** FLOSS emulates the sample's functions: tens of seconds on one CPU (the engine gives it at most 150). */
const FLOSS_TEST_MS = 240_000;

describe('strings engine (FLOSS on PE files, static strings elsewhere)', () => {
  it(
    "finds the EXE's stack string and tight string with FLOSS, and the URL, domain and IP of its known string",
    async () => {
      const want = expected['hello.exe'];
      const run = await runCatalogueEngine('strings', samplePath('binaries', 'hello.exe'));
      expect(run.exitCode).toBe(0);
      expect(field(run.report, 'Extraction', 'Method')).toMatch(/^FLOSS \d/);
      expect(tagValues(run.report, 'floss.stack_string')).toEqual(want.stack_strings);
      expect(tagValues(run.report, 'floss.tight_string')).toEqual(want.tight_strings);
      expect(section(run.report, 'Stack strings', 'table').rows.map(([s]) => s)).toEqual(want.stack_strings);
      // The stack string is nowhere in the file: FLOSS found it by emulation.
      expect(readFileSync(samplePath('binaries', 'hello.exe')).includes(want.stack_strings![0])).toBe(false);
      expect(section(run.report, 'Static strings', 'text').text).not.toContain(want.stack_strings![0]);
      for (const [kind, values] of Object.entries(want.indicators))
        expect(tagValues(run.report, kind)).toEqual(expect.arrayContaining(values));
      const result = JSON.parse(run.result!.toString('utf8')) as { strings: Record<string, Array<{ string: string }>> };
      expect(result.strings.stack_strings.map((s) => s.string)).toEqual(want.stack_strings);
    },
    FLOSS_TEST_MS,
  );

  it('extracts every indicator of a text file once, however often it appears', async () => {
    const want = expected['iocs.txt'].indicators;
    const text = readFileSync(samplePath('binaries', 'iocs.txt'), 'utf8');
    expect(text.split(want['ioc.url'][0]).length - 1).toBe(2);
    const run = await runCatalogueEngine('strings', samplePath('binaries', 'iocs.txt'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Extraction', 'Method')).toBe('static strings (ASCII and UTF-16LE)');
    for (const kind of KINDS) expect([kind, tagValues(run.report, kind).sort()]).toEqual([kind, [...(want[kind] ?? [])].sort()]);
    expect(tagValues(run.report, 'floss.stack_string')).toEqual([]);
  });

  it('falls back to static strings past its size bound for FLOSS, says so, and still finds the indicators', async () => {
    const run = await runCatalogueEngine('strings', samplePath('binaries', 'big.exe'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Extraction', 'Why')).toMatch(/^FLOSS skipped: the file is \d+ bytes, more than its bound of 16777216/);
    expect(run.report?.summary).toContain('FLOSS skipped');
    expect(section(run.report, 'Notes', 'text').text).toContain('FLOSS skipped');
    for (const [kind, values] of Object.entries(expected['hello.exe'].indicators))
      expect(tagValues(run.report, kind)).toEqual(expect.arrayContaining(values));
    expect(tagValues(run.report, 'floss.stack_string')).toEqual([]);
  });
});
