import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import { catalogueEngine, field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

/** What test/fixtures/samples/binaries/facts.py computed with pefile, beside the samples. */
interface PeFacts {
  parses: boolean;
  imphash: string;
  imports: Record<string, string[]>;
  exports: string[];
  sections: string[];
  compiled: string;
  resources: string[];
  overlay_offset: number | null;
  signature_bytes: number;
  version: Record<string, string>;
}
const expected = JSON.parse(readFileSync(samplePath('binaries', 'expected.json'), 'utf8')) as Record<
  string,
  { pe: PeFacts; signer?: string }
>;
const sample = (name: string) => samplePath('binaries', name);
const rows = (report: Parameters<typeof section>[0], title: string) => section(report, title, 'table').rows;

describe('pe engine (pefile), on PEs built with mingw-w64', () => {
  it('is routed the PE types detectType gives', () => {
    const engine = catalogueEngine('pe');
    expect(refusesType(engine, detectType(readFileSync(sample('hello.exe'))))).toBeNull();
    expect(refusesType(engine, 'application/x-msdownload')).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('hello.elf'))))).not.toBeNull();
  });

  it("reports the EXE's imphash, imports, sections, compile time, resources and version information as pefile computed them", async () => {
    const facts = expected['hello.exe'].pe;
    const run = await runCatalogueEngine('pe', sample('hello.exe'));
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'hash.imphash')).toEqual([facts.imphash]);
    const imports = rows(run.report, 'Imports').map(([library, fn]) => `${library}!${fn}`);
    expect(imports).toEqual(expect.arrayContaining(['KERNEL32.dll!CreateFileA', 'KERNEL32.dll!WriteFile', 'USER32.dll!MessageBoxA']));
    expect(imports.sort()).toEqual(
      Object.entries(facts.imports)
        .flatMap(([library, fns]) => fns.map((fn) => `${library}!${fn}`))
        .sort(),
    );
    const sections = rows(run.report, 'Sections');
    expect(sections.map(([name]) => name)).toEqual(facts.sections);
    for (const [, , , , , entropy] of sections) expect(Number(entropy)).toBeGreaterThanOrEqual(0);
    expect(Number(sections.find(([name]) => name === '.text')![5])).toBeGreaterThan(4);
    expect(field(run.report, 'Headers', 'Compiled')).toBe(facts.compiled);
    expect(field(run.report, 'Headers', 'Type')).toBe('PE32+ executable');
    expect(
      rows(run.report, 'Resources')
        .map(([type]) => type)
        .sort(),
    ).toEqual([...facts.resources].sort());
    for (const [key, value] of Object.entries(facts.version)) expect(field(run.report, 'Version information', key)).toBe(value);
    expect(field(run.report, 'Signature', 'Authenticode signature')).toBe('absent');
    expect(tagValues(run.report, 'pe.packer')).toEqual([]);
    expect(run.report?.verdict).toBeUndefined();
    expect(JSON.parse(run.result!.toString('utf8'))).toHaveProperty('FILE_HEADER');
  });

  it('extracts the appended overlay as a child, byte for byte', async () => {
    const run = await runCatalogueEngine('pe', sample('hello.exe'));
    expect(field(run.report, 'Overlay', 'Offset')).toBe(`0x${expected['hello.exe'].pe.overlay_offset!.toString(16)}`);
    expect(run.report?.children).toEqual([{ path: 'children/overlay.bin', relation: 'overlay', name: expect.stringContaining('overlay') }]);
    expect(readFileSync(join(run.dir, 'children/overlay.bin')).equals(readFileSync(sample('hello.overlay')))).toBe(true);
  });

  it("reports the DLL's exports", async () => {
    const run = await runCatalogueEngine('pe', sample('menagerie.dll'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Headers', 'Type')).toBe('PE32+ DLL');
    expect(expected['menagerie.dll'].pe.exports).toContain('menagerie_export_add');
    expect(rows(run.report, 'Exports').map(([, name]) => name)).toEqual(expected['menagerie.dll'].pe.exports);
    expect(tagValues(run.report, 'pe.export')).toEqual(expected['menagerie.dll'].pe.exports);
    expect(tagValues(run.report, 'hash.imphash')).toEqual([expected['menagerie.dll'].pe.imphash]);
  });

  it('hints at UPX by section names, and at packing by high entropy with few imports', async () => {
    const run = await runCatalogueEngine('pe', sample('upx-like.exe'));
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'pe.packer')).toEqual(['UPX', 'unknown']);
    const evidence = rows(run.report, 'Packer hints').map(([, why]) => why);
    expect(evidence).toEqual(
      expect.arrayContaining([expect.stringContaining('UPX1'), expect.stringMatching(/high entropy .* 1 imported function$/)]),
    );
    expect(run.report?.summary).toContain('packer hints: UPX');
  });

  it('sees an Authenticode signature and its certificate, and does not take the signature for an overlay', async () => {
    const facts = expected['signed.exe'];
    expect(facts.pe.signature_bytes).toBeGreaterThan(0);
    const run = await runCatalogueEngine('pe', sample('signed.exe'));
    expect(field(run.report, 'Signature', 'Authenticode signature')).toBe('present');
    expect(field(run.report, 'Signature', 'Certificate table')).toMatch(new RegExp(`^${facts.pe.signature_bytes} bytes at `));
    expect(tagValues(run.report, 'pe.signer')).toEqual([facts.signer]);
    expect(run.report?.children).toEqual([]);
  });

  it("reads a PE whose optional header has fewer data directories than the certificate table (the archives samples' marked.bin)", async () => {
    const run = await runCatalogueEngine('pe', samplePath('archives', 'marked.bin'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Signature', 'Authenticode signature')).toBe('absent');
    expect(run.report?.summary).toMatch(/^PE32/);
  });

  it('reports a truncated PE as truncated (exit 0, informational), and says what it could read', async () => {
    const run = await runCatalogueEngine('pe', sample('truncated.exe'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.verdict?.value).toBe('informational');
    expect(run.report?.summary).toMatch(/truncated: .*beyond the end of the file/);
    expect(field(run.report, 'Headers', 'Compiled')).toBe(expected['truncated.exe'].pe.compiled);
    expect(section(run.report, 'pefile warnings', 'text').text).toContain('SizeOfRawData is larger than file');
    expect(run.report?.children).toEqual([]);
  });

  it.each([
    ['truncated-header.exe', /^not a parseable PE \(200 bytes\)/],
    ['iocs.txt', /^not a parseable PE/],
  ])('reports %s, which pefile cannot parse, without failing', async (name, summary) => {
    const run = await runCatalogueEngine('pe', sample(name));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(summary);
    expect(run.report?.verdict?.value).toBe('informational');
    expect(field(run.report, 'File', "pefile's error")).toBeTruthy();
  });
});
