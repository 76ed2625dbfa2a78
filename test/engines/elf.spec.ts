import { readFileSync } from 'node:fs';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import { catalogueEngine, field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

/** What facts.py read with readelf in the builder. */
const expected = JSON.parse(readFileSync(samplePath('binaries', 'expected.json'), 'utf8')) as Record<
  string,
  { elf: { interpreter: string; needed: string[]; symbols: string[] } }
>;
const sample = (name: string) => samplePath('binaries', name);
const rows = (report: Parameters<typeof section>[0], title: string) => section(report, title, 'table').rows;

describe('elf engine (LIEF), on an ELF built with gcc and a Mach-O written by hand', () => {
  it('is routed ELF and Mach-O files, and no PE', () => {
    const engine = catalogueEngine('elf');
    expect(refusesType(engine, detectType(readFileSync(sample('hello.elf'))))).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('hello.macho'))))).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('hello.exe'))))).not.toBeNull();
  });

  it("reports the ELF's interpreter, linked libraries (libc among them), sections and its known symbol as readelf read them", async () => {
    const facts = expected['hello.elf'].elf;
    expect(facts.needed).toContain('libc.so.6');
    const run = await runCatalogueEngine('elf', sample('hello.elf'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Headers', 'Interpreter')).toBe(facts.interpreter);
    expect(field(run.report, 'Headers', 'Type')).toBe('DYN (PIE executable)');
    expect(field(run.report, 'Headers', 'Machine')).toBe('X86_64');
    expect(tagValues(run.report, 'elf.interpreter')).toEqual([facts.interpreter]);
    expect(rows(run.report, 'Libraries').map(([lib]) => lib)).toEqual(facts.needed);
    expect(tagValues(run.report, 'elf.library')).toEqual(facts.needed);
    const symbols = rows(run.report, 'Symbols');
    for (const name of facts.symbols) {
      expect(symbols).toContainEqual([
        name,
        'FUNC',
        'GLOBAL',
        expect.stringMatching(/^0x[0-9a-f]+$/),
        expect.any(String),
        'dynsym',
        'exported',
      ]);
      expect(symbols).toContainEqual([name, 'FUNC', 'GLOBAL', expect.any(String), expect.any(String), 'symtab', 'exported']);
    }
    expect(symbols).toContainEqual(['printf', 'FUNC', 'GLOBAL', '0x0', '0', 'dynsym', 'imported']);
    const sections = rows(run.report, 'Sections').map(([name, , , , , entropy]) => [name, Number(entropy)] as const);
    expect(sections.map(([name]) => name)).toEqual(expect.arrayContaining(['.interp', '.text', '.dynsym', '.symtab']));
    expect(sections.find(([name]) => name === '.text')![1]).toBeGreaterThan(3);
    expect(run.report?.summary).toContain(`interpreter ${facts.interpreter}`);
    expect(JSON.parse(run.result!.toString('utf8'))).toHaveProperty('header');
  });

  it("reports the Mach-O's dynamic linker, library and symbol", async () => {
    const run = await runCatalogueEngine('elf', sample('hello.macho'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Headers', 'CPU')).toBe('X86_64');
    expect(field(run.report, 'Headers', 'File type')).toBe('EXECUTE');
    expect(tagValues(run.report, 'macho.dylinker')).toEqual(['/usr/lib/dyld']);
    expect(tagValues(run.report, 'macho.library')).toEqual(['/usr/lib/libSystem.B.dylib']);
    expect(rows(run.report, 'Symbols').map(([name]) => name)).toEqual(['_menagerie_macho_marker']);
    expect(rows(run.report, 'Sections').map(([name, segment]) => `${segment},${name}`)).toEqual(['__TEXT,__text']);
  });

  it('reports a truncated ELF as truncated (exit 0, informational), with what it could still read', async () => {
    const run = await runCatalogueEngine('elf', sample('truncated.elf'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.verdict?.value).toBe('informational');
    expect(run.report?.summary).toMatch(/truncated: the section headers, .*beyond the end of the file/);
    expect(field(run.report, 'Headers', 'Interpreter')).toBe(expected['truncated.elf'].elf.interpreter);
  });

  it('reports a file that is neither ELF nor Mach-O without failing', async () => {
    const run = await runCatalogueEngine('elf', sample('tiny.txt'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(/^not a parseable ELF or Mach-O file \(\d+ bytes\)/);
    expect(run.report?.verdict?.value).toBe('informational');
  });
});
