import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import { catalogueEngine, field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

/** What make_objects.py wrote into the PDFs, and the keywords it counted in their bytes. */
interface PdfFacts {
  counts: Record<string, number>;
  url?: string;
  file?: { name: string; sha256: string; size: number };
}
const sample = (name: string) => samplePath('documents', name);
const expected = (JSON.parse(readFileSync(sample('objects.expected.json'), 'utf8')) as { pdf: Record<'active' | 'plain', PdfFacts> }).pdf;
const counts = (report: Parameters<typeof section>[0]) =>
  Object.fromEntries(section(report, 'pdfid', 'table').rows.map(([keyword, count]) => [keyword, Number(count)]));

describe('pdf engine (pdfid and pypdf), on PDFs written by hand', () => {
  it('is routed PDFs, and not Office files or e-mails', () => {
    const engine = catalogueEngine('pdf');
    expect(refusesType(engine, detectType(readFileSync(sample('active.pdf'))))).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('macro.xls'))))).not.toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('message.eml'))))).not.toBeNull();
  });

  it("counts active.pdf's /OpenAction, /JS and /JavaScript as they are in its bytes, and calls JavaScript run on open suspicious", async () => {
    const facts = expected.active;
    const run = await runCatalogueEngine('pdf', sample('active.pdf'));
    expect(run.exitCode).toBe(0);
    const found = counts(run.report);
    for (const keyword of ['/JS', '/JavaScript', '/OpenAction', '/EmbeddedFile', '/URI', '/Launch', '/AA'])
      expect([keyword, found[keyword]]).toEqual([keyword, facts.counts[keyword]]);
    expect(facts.counts['/OpenAction']).toBeGreaterThan(0);
    expect(facts.counts['/JS']).toBeGreaterThan(0);
    expect(tagValues(run.report, 'pdf.keyword')).toEqual(['/JS', '/JavaScript', '/OpenAction', '/EmbeddedFile', '/URI']);
    expect(run.report?.verdict).toEqual({ value: 'suspicious', reason: 'JavaScript run on open: /JS and /JavaScript with /OpenAction' });
    expect(section(run.report, 'JavaScript', 'text').text).toContain("app.alert('menagerie sample');");
    expect(tagValues(run.report, 'ioc.url')).toEqual([facts.url]);
    expect(tagValues(run.report, 'ioc.domain')).toEqual([new URL(facts.url!).hostname]);
    expect(field(run.report, 'PDF', 'Pages')).toBe('1');
    expect(JSON.parse(run.result!.toString('utf8')).pdfid.keywords.keyword).toEqual(
      expect.arrayContaining([{ name: '/OpenAction', count: facts.counts['/OpenAction'], hexcodecount: 0 }]),
    );
  });

  it('extracts the embedded file as a child, under its name, with the bytes that were embedded', async () => {
    const file = expected.active.file!;
    const run = await runCatalogueEngine('pdf', sample('active.pdf'));
    expect(run.report?.children).toEqual([{ path: `children/${file.name}`, relation: 'embedded', name: file.name }]);
    const child = readFileSync(join(run.dir, run.report!.children[0].path));
    expect({ size: child.length, sha256: createHash('sha256').update(child).digest('hex') }).toEqual({
      size: file.size,
      sha256: file.sha256,
    });
    expect(section(run.report, 'Embedded files', 'table').rows.map(([, name, relation]) => [name, relation])).toEqual([
      [file.name, 'embedded'],
    ]);
  });

  it('reports the plain PDF clean, with no risky keyword', async () => {
    const run = await runCatalogueEngine('pdf', sample('plain.pdf'));
    expect(run.exitCode).toBe(0);
    expect(Object.values(expected.plain.counts).every((n) => n === 0)).toBe(true);
    expect(counts(run.report)['/JS']).toBe(0);
    expect(tagValues(run.report, 'pdf.keyword')).toEqual([]);
    expect(run.report?.verdict?.value).toBe('clean');
    expect(run.report?.children).toEqual([]);
  });

  it("reports a truncated PDF as damaged (exit 0, informational), with pdfid's counts of what is there", async () => {
    const run = await runCatalogueEngine('pdf', sample('truncated.pdf'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(/^damaged PDF \(pypdf: /);
    expect(run.report?.verdict?.value).toBe('informational');
    expect(counts(run.report)['/OpenAction']).toBe(1);
    expect(run.report?.children).toEqual([]);
  });

  it('reports a file that is no PDF as unreadable, without failing', async () => {
    const run = await runCatalogueEngine('pdf', sample('message.eml'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(/^Unreadable: not a PDF/);
    expect(run.report?.verdict).toEqual({ value: 'informational', reason: 'not a PDF' });
  });
});
