import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
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

// The engines project's testTimeout (jest.config.js) does not reach the tests: a capa run takes seconds.
jest.setTimeout(300_000);

/** The example bundle the repository ships: the rules the samples were written for. */
const RULES = join(ROOT, 'engines/capa/data/rules');
const sample = (name: string) => samplePath('capa', name);
/** make.sh's nm of a sample before it was stripped: where make_file and host_name start. */
const functions = (name: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(sample(`${name}.functions`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
/** The Capabilities table as capability name to its row's cells by column. */
function capabilities(report: Parameters<typeof section>[0]): Record<string, Record<string, string>> {
  const table = section(report, 'Capabilities', 'table');
  return Object.fromEntries(table.rows.map((row) => [row[0], Object.fromEntries(table.columns.map((c, i) => [c, row[i]]))]));
}

const BROKEN_RULE = `rule:
  meta:
    name: broken rule
    scopes:
      static: function
      dynamic: call
  features:
    - or:
      - apii: CreateFileA
`;

describe('capa engine (flare-capa), with the rules of engines/capa/data/rules', () => {
  it('is routed the PE and ELF types detectType gives, and nothing else', () => {
    const engine = catalogueEngine('capa');
    expect(refusesType(engine, detectType(readFileSync(sample('capable.exe'))))).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('capable.elf'))))).toBeNull();
    expect(refusesType(engine, 'application/x-msdownload')).toBeNull();
    expect(refusesType(engine, 'application/pdf')).not.toBeNull();
  });

  it.each([
    ['capable.exe', 'pe', 'windows'],
    ['capable.elf', 'elf', 'linux'],
  ])(
    'finds create file, get hostname and an embedded URL in %s, with their ATT&CK and MBC ids, each API at the function that calls it',
    async (name, format, os) => {
      const run = await runCatalogueEngine('capa', sample(name), { data: { rules: RULES } });
      expect(run.exitCode).toBe(0);
      expect(tagValues(run.report, 'capa.capability').sort()).toEqual(['contain an embedded URL', 'create file', 'get hostname']);
      expect(tagValues(run.report, 'capa.attack').sort()).toEqual(['T1071.001', 'T1082']);
      expect(tagValues(run.report, 'capa.mbc').sort()).toEqual(['C0016', 'E1082']);
      expect(tagValues(run.report, 'capa.namespace')).toContain('host-interaction/os/hostname');
      const found = capabilities(run.report);
      const at = functions(name);
      expect(found['create file']).toMatchObject({ scope: 'function', locations: at.make_file, MBC: 'File System::Create File [C0016]' });
      expect(found['get hostname']).toMatchObject({
        scope: 'function',
        locations: at.host_name,
        'ATT&CK': 'Discovery::System Information Discovery [T1082]',
        namespace: 'host-interaction/os/hostname',
      });
      expect(found['contain an embedded URL']).toMatchObject({ scope: 'file', locations: 'file' });
      expect(field(run.report, 'Analysis', 'Format')).toBe(format);
      expect(field(run.report, 'Analysis', 'OS')).toBe(os);
      expect(field(run.report, 'Analysis', 'Rules')).toBe('3 loaded from the bundle at /rules');
      expect(field(run.report, 'Analysis', 'Library identification')).toMatch(/^none: no FLIRT signatures/);
      expect(run.report?.summary).toMatch(/^3 capabilities in a/);
      expect(run.report?.verdict).toBeUndefined();
      // The result is capa's own JSON document, where the report's facts come from.
      const doc = JSON.parse(run.result!.toString('utf8'));
      expect(doc.meta.analysis.format).toBe(format);
      expect(Object.keys(doc.rules).sort()).toEqual(['contain an embedded URL', 'create file', 'get hostname']);
    },
  );

  it.each(['plain.elf', 'plain.exe'])('finds no capability in %s, which has none of them', async (name) => {
    const run = await runCatalogueEngine('capa', sample(name), { data: { rules: RULES } });
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'capa.capability')).toEqual([]);
    expect(tagValues(run.report, 'capa.attack')).toEqual([]);
    expect(section(run.report, 'Capabilities', 'table').rows).toEqual([]);
    expect(run.report?.summary).toMatch(/^no capabilities found in a (PE|ELF) .* by 3 rules$/);
  });

  it("says with capa's words that a truncated PE is corrupt, in a report (exit 0)", async () => {
    const run = await runCatalogueEngine('capa', sample('truncated.exe'), { data: { rules: RULES } });
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(/^capa cannot analyse this file \(a corrupt file\): .*not a valid PE file/);
    expect(tagValues(run.report, 'capa.capability')).toEqual([]);
  });

  it('stops capa at its own time limit (CAPA_TIMEOUT) and says so in a report, well within the job timeout', async () => {
    const run = await runCatalogueEngine('capa', sample('capable.exe'), { data: { rules: RULES }, env: ['CAPA_TIMEOUT=1'] });
    expect(run.exitCode).toBe(0);
    expect(run.timedOut).toBe(false);
    expect(run.report?.summary).toBe("capa's analysis did not finish within 1 s: no capabilities reported");
    expect(field(run.report, 'Analysis', 'Time limit')).toBe('1 s');
    expect(tagValues(run.report, 'capa.capability')).toEqual([]);
  });

  it('says that no rules are mounted when the bundle is empty, and exits 0', async () => {
    const run = await runCatalogueEngine('capa', sample('capable.elf'), { data: { rules: writeBundle({}) } });
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toBe('no capa rules mounted at /rules: nothing was matched');
    expect(tagValues(run.report, 'capa.capability')).toEqual([]);
  });

  it("fails (exit 3) with capa's message when the mounted bundle has a bad rule", async () => {
    const run = await runCatalogueEngine('capa', sample('capable.elf'), { data: { rules: writeBundle({ 'broken.yml': BROKEN_RULE }) } });
    expect(run.exitCode).toBe(3);
    expect(run.log).toContain('ERROR: the rules bundle at /rules does not load: broken.yml: invalid rule: unexpected statement: apii');
    expect(run.result).toBeNull();
  });

  describe('its datacheck (/engine/check.sh, run with the bundle mounted)', () => {
    it('accepts the example bundle and names its rules', async () => {
      const check = await runCatalogueDatacheck('capa', RULES);
      expect(check.exitCode).toBe(0);
      expect(check.log).toContain('capa loads 3 rules from /rules: contain an embedded URL, create file, get hostname');
    });

    it("refuses a bundle with a rule capa does not load, with capa's message naming the file", async () => {
      const good = readFileSync(join(RULES, 'create-file.yml'), 'utf8');
      const check = await runCatalogueDatacheck('capa', writeBundle({ 'create-file.yml': good, 'broken.yml': BROKEN_RULE }));
      expect(check.exitCode).toBe(1);
      expect(check.log).toContain('ERROR: capa refuses the rules bundle: broken.yml: invalid rule: unexpected statement: apii');
    });

    it('refuses a bundle that is not YAML, and one with no rule at all', async () => {
      const notYaml = await runCatalogueDatacheck('capa', writeBundle({ 'oops.yml': 'rule:\n  meta: [oops\n' }));
      expect(notYaml.exitCode).toBe(1);
      expect(notYaml.log).toMatch(/ERROR: capa refuses the rules bundle: oops\.yml: invalid YAML: /);
      const empty = await runCatalogueDatacheck('capa', writeBundle({ 'README.md': 'no rules here\n' }));
      expect(empty.exitCode).toBe(1);
      expect(empty.log).toContain('ERROR: capa refuses the rules bundle: no capa rules (*.yml files) in /rules');
    });
  });
});
