import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf, distinctTags, parseReport, REPORT_LIMITS, reportJsonSchema, ReportError } from './report.schema';

const ROOT = join(__dirname, '../../..');
const report = (over: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ schema: 'menagerie.report/1', summary: 'ok', ...over }));

describe('the report format menagerie.report/1', () => {
  it('is the JSON Schema the repository holds (schemas/report.schema.json), so the two cannot drift', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'schemas/report.schema.json'), 'utf8'));
    // To update it: node -e "..." as docs/reports.md says; this test names the difference.
    expect(committed).toEqual(reportJsonSchema());
  });

  it("has the bounds the Python engines' writer keeps to (engines/python/menagerie_report.py)", () => {
    const python = readFileSync(join(ROOT, 'engines/python/menagerie_report.py'), 'utf8');
    const block = python.slice(python.indexOf('LIMITS = {'), python.indexOf('}', python.indexOf('LIMITS = {')));
    const limits = Object.fromEntries(
      [...block.matchAll(/"(\w+)": ([\d *]+),/g)].map(([, key, value]) => [key, value.split('*').reduce((a, b) => a * Number(b), 1)]),
    );
    const camel = (key: string) => key.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    expect(Object.keys(limits).length).toBeGreaterThan(10);
    for (const [key, value] of Object.entries(limits))
      expect([key, value]).toEqual([key, REPORT_LIMITS[camel(key) as keyof typeof REPORT_LIMITS]]);
  });

  it('fills in what may be left out: no tags, sections or children', () => {
    expect(parseReport(report())).toEqual({ schema: 'menagerie.report/1', summary: 'ok', tags: [], sections: [], children: [] });
  });

  it('refuses a table whose rows are not as wide as its columns, and a file over its byte limit', () => {
    const table = { kind: 'table', title: 'T', columns: ['a', 'b'], rows: [['1']] };
    expect(() => parseReport(report({ sections: [table] }))).toThrow(
      /sections\.0\.rows: every row must have as many cells as there are columns/,
    );
    expect(() => parseReport(Buffer.alloc(REPORT_LIMITS.bytes + 1, 0x20))).toThrow(ReportError);
  });

  it('says no more than the first five problems, and how many more there are', () => {
    const tags = Array.from({ length: 8 }, () => ({ type: 'X', value: 'v' }));
    expect(() => parseReport(report({ tags }))).toThrow(/tags\.4\.type.*\(and 3 more\)$/);
  });

  it('digests a report into what the job row keeps: summary, verdict, reason and tag counts', () => {
    const parsed = parseReport(
      report({
        verdict: { value: 'malicious', reason: 'ClamAV: Menagerie.Test' },
        tags: [
          { type: 'av.signature', value: 'Menagerie.Test' },
          { type: 'ioc.ip', value: '10.0.0.1' },
          { type: 'ioc.ip', value: '10.0.0.1' },
        ],
      }),
    );
    expect(digestOf(parsed)).toEqual({
      summary: 'ok',
      verdict: 'malicious',
      reason: 'ClamAV: Menagerie.Test',
      tagCounts: { 'av.signature': 1, 'ioc.ip': 2 },
    });
    expect(distinctTags(parsed)).toEqual([
      { type: 'av.signature', value: 'Menagerie.Test' },
      { type: 'ioc.ip', value: '10.0.0.1' },
    ]);
  });
});
