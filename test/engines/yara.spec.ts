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
const EXAMPLE_RULES = join(ROOT, 'engines/yara/data/rules');
/** The facts make.sh computed of marked.bin: where each string the rules look for starts. */
const marked = (JSON.parse(readFileSync(samplePath('archives', 'expected.json'), 'utf8')) as Record<string, Record<string, number>>)[
  'marked.bin'
];
const sample = (name: string) => samplePath('archives', name);

const rows = (report: Parameters<typeof section>[0], title: string) => section(report, title, 'table').rows;

describe('yara engine (python3-yara), with rules from a data bundle', () => {
  it('takes any file (no accepts)', () => {
    const engine = catalogueEngine('yara');
    expect(refusesType(engine, 'application/octet-stream')).toBeNull();
    expect(refusesType(engine, 'text/plain')).toBeNull();
  });

  describe('the example bundle on marked.bin', () => {
    let run: Awaited<ReturnType<typeof runCatalogueEngine>>;
    beforeAll(async () => {
      run = await runCatalogueEngine('yara', sample('marked.bin'), { data: { rules: EXAMPLE_RULES } });
    });

    it('names each matched rule (yara.rule) and its tags (yara.tag), from both files of the bundle', () => {
      expect(run.exitCode).toBe(0);
      expect(tagValues(run.report, 'yara.rule').sort()).toEqual([
        'Autorun_Registry_Key',
        'Embedded_URL',
        'Menagerie_Test_Marker',
        'PE_Header',
      ]);
      expect(tagValues(run.report, 'yara.tag').sort()).toEqual(['ioc', 'menagerie', 'pe', 'persistence', 'test']);
      expect(Object.fromEntries(rows(run.report, 'Matches').map(([rule, namespace, tags]) => [rule, `${namespace}: ${tags}`]))).toEqual({
        Menagerie_Test_Marker: 'menagerie-test.yar: test menagerie',
        Autorun_Registry_Key: 'menagerie-test.yar: persistence',
        Embedded_URL: 'generic/generic.yara: ioc',
        PE_Header: 'generic/generic.yara: pe',
      });
      expect(field(run.report, 'Rules', 'Rule files')).toBe('2');
    });

    it("gives each rule's meta", () => {
      const meta = rows(run.report, 'Meta').filter(([rule]) => rule === 'Menagerie_Test_Marker');
      expect(meta.map(([, key, value]) => [key, value])).toEqual([
        ['description', "The harmless marker string of Menagerie's test samples"],
        ['author', 'Menagerie'],
        ['verdict', 'malicious'],
      ]);
    });

    it('gives every string match at the offset make.sh found it, with its data', () => {
      expect(rows(run.report, 'Strings')).toEqual(
        expect.arrayContaining([
          [
            'Menagerie_Test_Marker',
            '$marker',
            String(marked.marker_offset),
            `0x${marked.marker_offset.toString(16)}`,
            'MENAGERIE-HARMLESS-TEST-MARKER-24',
          ],
          ['Embedded_URL', '$url', String(marked.url_offset), `0x${marked.url_offset.toString(16)}`, 'http://menagerie.invalid/stage2.bin'],
          [
            'Autorun_Registry_Key',
            '$run',
            String(marked.run_key_offset),
            `0x${marked.run_key_offset.toString(16)}`,
            'Software\\Microsoft\\Windows\\CurrentVersion\\Run',
          ],
        ]),
      );
      const result = JSON.parse(run.result!.toString('utf8')) as {
        matches: Array<{ rule: string; strings: Array<{ offset: number; identifier: string; data: string }> }>;
      };
      expect(result.matches.find((m) => m.rule === 'Menagerie_Test_Marker')?.strings).toEqual([
        { offset: marked.marker_offset, identifier: '$marker', data: Buffer.from('MENAGERIE-HARMLESS-TEST-MARKER-24').toString('hex') },
      ]);
    });

    it("takes the worst verdict a matched rule's meta gives: malicious over suspicious", () => {
      expect(run.report?.verdict).toEqual({ value: 'malicious', reason: 'yara rule Menagerie_Test_Marker says malicious' });
    });
  });

  it('a file no rule matches: no rule, no verdict', async () => {
    const run = await runCatalogueEngine('yara', sample('clean.txt'), { data: { rules: EXAMPLE_RULES } });
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'yara.rule')).toEqual([]);
    expect(run.report?.verdict).toBeUndefined();
    expect(run.report?.summary).toBe('no rule of 4 matched');
  });

  it('another bundle changes what matches, without a rebuild: a suspicious rule, and one with no verdict (informational)', async () => {
    const rules = writeBundle({
      'a.yar': 'rule Says_Stage2 { meta: verdict = "suspicious" strings: $s = "stage2" condition: $s }',
      'b.yara': 'rule Any_File { condition: filesize > 0 }',
    });
    const both = await runCatalogueEngine('yara', sample('marked.bin'), { data: { rules } });
    expect(tagValues(both.report, 'yara.rule').sort()).toEqual(['Any_File', 'Says_Stage2']);
    expect(both.report?.verdict).toEqual({ value: 'suspicious', reason: 'yara rule Says_Stage2 says suspicious' });
    const one = await runCatalogueEngine('yara', sample('clean.txt'), { data: { rules } });
    expect(tagValues(one.report, 'yara.rule')).toEqual(['Any_File']);
    expect(one.report?.verdict).toEqual({ value: 'informational', reason: 'matched Any_File, whose meta gives no verdict' });
  });

  it('with no bundle mounted it says so, and exits 0', async () => {
    const run = await runCatalogueEngine('yara', sample('marked.bin'), { data: { rules: writeBundle({}) } });
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toBe('no yara rules mounted at /rules: nothing was matched');
    expect(run.report?.tags).toEqual([]);
  });

  describe('its datacheck (/engine/check.sh) compiles the bundle as the engine does', () => {
    const BROKEN = 'rule Broken\n{\n    strings:\n        $a = "x"\n    condition:\n        $b\n}\n';

    it('accepts the example bundle', async () => {
      const check = await runCatalogueDatacheck('yara', EXAMPLE_RULES);
      expect(check.exitCode).toBe(0);
      expect(check.log).toContain('ok: 2 rule files, 4 rules compiled');
    });

    it("refuses a rule that does not compile, with yara's own message (file, line, what)", async () => {
      const check = await runCatalogueDatacheck(
        'yara',
        writeBundle({ 'good.yar': 'rule Good { condition: true }', 'sub/bad.yar': BROKEN }),
      );
      expect(check.exitCode).toBe(1);
      expect(check.log).toMatch(/^ERROR: the rules do not compile: \/rules\/sub\/bad\.yar\(\d+\): undefined string "\$b"$/m);
    });

    it('refuses a bundle with no rule file', async () => {
      const check = await runCatalogueDatacheck('yara', writeBundle({ 'README.txt': 'no rules here' }));
      expect(check.exitCode).toBe(1);
      expect(check.log).toContain('ERROR: no *.yar or *.yara file under /rules');
    });

    it('a bundle that does not compile fails the run itself with the same message (exit 3)', async () => {
      const run = await runCatalogueEngine('yara', sample('marked.bin'), { data: { rules: writeBundle({ 'bad.yar': BROKEN }) } });
      expect(run.exitCode).toBe(3);
      expect(run.log).toMatch(/ERROR: the rules under \/rules do not compile: \/rules\/bad\.yar\(\d+\): undefined string "\$b"/);
      expect(run.result).toBeNull();
    });
  });
});
