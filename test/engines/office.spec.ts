import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import { ROOT } from '../support/env';
import { catalogueEngine, field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

/** A file make_objects.py embedded, as it computed it. */
interface EmbeddedFile {
  name: string;
  sha256: string;
  size: number;
}
const sample = (name: string) => samplePath('documents', name);
const objects = JSON.parse(readFileSync(sample('objects.expected.json'), 'utf8')) as { rtf: EmbeddedFile; docx: EmbeddedFile };
/** The VBA module LibreOffice wrote into macro.xlsm and macro.xls (test/fixtures/samples/documents/macro.bas). */
const macroSource = readFileSync(join(ROOT, 'test/fixtures/samples/documents/macro.bas'), 'utf8');
const macroUrl = /https?:\/\/[^\s"]+/.exec(macroSource)![0];
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('office engine (oletools), on documents made with LibreOffice and by hand', () => {
  it('is routed the OLE, OOXML and RTF types detectType gives, and not PDFs or e-mails', () => {
    const engine = catalogueEngine('office');
    for (const name of ['macro.xlsm', 'macro.xls', 'benign.docx', 'embedded.rtf'])
      expect(refusesType(engine, detectType(readFileSync(sample(name))))).toBeNull();
    expect(refusesType(engine, 'application/vnd.ms-excel.sheet.macroEnabled.12')).toBeNull();
    expect(refusesType(engine, 'application/vnd.ms-word.document.macroEnabled.12')).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('active.pdf'))))).not.toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('message.eml'))))).not.toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('message.msg'))))).not.toBeNull();
    expect(refusesType(engine, 'application/vnd.ms-outlook')).not.toBeNull();
  });

  it.each([
    ['macro.xlsm', 'OpenXML'],
    ['macro.xls', 'OLE'],
  ])(
    "finds %s's VBA module, its auto-exec Workbook_Open, Shell and CreateObject, its URL, and mraptor's SUSPICIOUS",
    async (name, container) => {
      const run = await runCatalogueEngine('office', sample(name));
      expect(run.exitCode).toBe(0);
      expect(tagValues(run.report, 'office.autoexec')).toEqual(['Workbook_Open']);
      expect(tagValues(run.report, 'office.suspicious')).toEqual(expect.arrayContaining(['Shell', 'CreateObject']));
      expect(tagValues(run.report, 'ioc.url')).toEqual([macroUrl]);
      expect(tagValues(run.report, 'ioc.domain')).toEqual([new URL(macroUrl).hostname]);
      const source = section(run.report, 'Macro source', 'text').text.replace(/\r\n/g, '\n');
      for (const line of macroSource.trim().split('\n')) expect(source).toContain(line);
      expect(field(run.report, 'mraptor', 'Result')).toBe('SUSPICIOUS');
      expect(field(run.report, 'mraptor', 'Auto-exec')).toBe('Workbook_Open');
      expect(run.report?.verdict).toEqual({
        value: 'suspicious',
        reason: expect.stringMatching(/^mraptor: auto-exec Workbook_Open with execute /),
      });
      expect(run.report?.summary).toBe(`${container} document: 1 VBA module, auto-exec Workbook_Open, mraptor SUSPICIOUS`);
      const indicators = Object.fromEntries(section(run.report, 'oleid', 'table').rows.map(([indicator, value]) => [indicator, value]));
      expect(indicators['VBA Macros']).toBe('Yes, suspicious');
      expect(indicators['Container format']).toBe(container);
      const result = JSON.parse(run.result!.toString('utf8'));
      expect(result.olevba.macros).toHaveLength(1);
      expect(result.mraptor.result).toBe('SUSPICIOUS');
    },
  );

  it("extracts the RTF's OLE Package object (rtfobj) as a child, byte for byte, and flags its executable name", async () => {
    const run = await runCatalogueEngine('office', sample('embedded.rtf'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.children).toEqual([{ path: `children/${objects.rtf.name}`, relation: 'embedded', name: objects.rtf.name }]);
    const child = readFileSync(join(run.dir, run.report!.children[0].path));
    expect({ size: child.length, sha256: sha256(child) }).toEqual({ size: objects.rtf.size, sha256: objects.rtf.sha256 });
    const [row] = section(run.report, 'Embedded objects', 'table').rows;
    expect(row.slice(1, 4)).toEqual(['OLE Package', 'Package', objects.rtf.name]);
    expect(run.report?.verdict).toEqual({ value: 'suspicious', reason: expect.stringContaining(objects.rtf.name) });
  });

  it("extracts the file of an OOXML document's OLE Package object (oleobj) as a child", async () => {
    const run = await runCatalogueEngine('office', sample('embedded.docx'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.children).toEqual([{ path: `children/${objects.docx.name}`, relation: 'embedded', name: objects.docx.name }]);
    expect(sha256(readFileSync(join(run.dir, run.report!.children[0].path)))).toBe(objects.docx.sha256);
    expect(section(run.report, 'Embedded objects', 'table').rows[0][0]).toMatch(/^word\/embeddings\/oleObject1\.bin:/);
    expect(run.report?.verdict?.value).toBe('informational');
  });

  it('reports the document without macros or objects clean', async () => {
    const run = await runCatalogueEngine('office', sample('benign.docx'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.verdict).toEqual({ value: 'clean', reason: expect.stringContaining('no VBA or XLM macros') });
    expect(field(run.report, 'mraptor', 'Result')).toBe('No Macro');
    expect(tagValues(run.report, 'office.autoexec')).toEqual([]);
    expect(run.report?.children).toEqual([]);
  });

  it.each([
    ['truncated.xls', /^Unreadable: a damaged OLE compound file \(olefile: /],
    ['plain.pdf', /^Unreadable: not an Office document or RTF/],
  ])('reports %s, which it cannot analyse, as unreadable (exit 0, informational)', async (name, summary) => {
    const run = await runCatalogueEngine('office', sample(name));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(summary);
    expect(run.report?.verdict?.value).toBe('informational');
    expect(run.report?.tags).toEqual([]);
    expect(JSON.parse(run.result!.toString('utf8')).error).toBeTruthy();
  });
});
