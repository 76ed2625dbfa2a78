import { readFileSync } from 'node:fs';
import { field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

const expected = JSON.parse(readFileSync(samplePath('binaries', 'expected.json'), 'utf8')) as Record<
  string,
  { exif_written?: Record<string, Record<string, string>>; pe?: { version: Record<string, string> } }
>;
/** What make.sh wrote into photo.jpg with exiftool: by family 0 group, then "family 1:tag name". */
const written = expected['photo.jpg'].exif_written!;

describe('exiftool engine, on a JPEG whose EXIF and XMP were written by exiftool in the builder', () => {
  it('reports every field written, in the section of its family 0 group, and tags the authors and software', async () => {
    const run = await runCatalogueEngine('exiftool', samplePath('binaries', 'photo.jpg'));
    expect(run.exitCode).toBe(0);
    expect(Object.keys(written)).toEqual(expect.arrayContaining(['EXIF', 'XMP', 'File']));
    for (const [group, fields] of Object.entries(written))
      for (const [key, value] of Object.entries(fields)) expect([group, key, field(run.report, group, key)]).toEqual([group, key, value]);
    expect(tagValues(run.report, 'exif.author').sort()).toEqual([written.EXIF['IFD0:Artist'], written.XMP['XMP-dc:Creator']].sort());
    expect(tagValues(run.report, 'exif.software')).toEqual([written.EXIF['IFD0:Software']]);
    expect(run.report?.summary).toMatch(/^JPEG \(image\/jpeg\): \d+ tags in File, EXIF, XMP/);
    const result = JSON.parse(run.result!.toString('utf8')) as Array<Record<string, unknown>>;
    expect(result[0]['EXIF:IFD0:Artist']).toBe(written.EXIF['IFD0:Artist']);
  });

  it("leaves out the job directory's own names and dates, so that the report is the file's alone", async () => {
    const run = await runCatalogueEngine('exiftool', samplePath('binaries', 'photo.jpg'));
    const keys = run.report!.sections.flatMap((s) => (s.kind === 'kv' ? s.fields.map(([k]) => k) : []));
    expect(keys.filter((k) => k.startsWith('System:'))).toEqual([]);
    const result = JSON.parse(run.result!.toString('utf8')) as Array<Record<string, unknown>>;
    expect(Object.keys(result[0]).filter((k) => k.includes(':System:'))).toEqual([]);
  });

  it('reports the metadata of another type (a PE) in its own group', async () => {
    const run = await runCatalogueEngine('exiftool', samplePath('binaries', 'hello.exe'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'File', 'File:FileType')).toBe('Win64 EXE');
    expect(field(run.report, 'EXE', 'EXE:CompanyName')).toBe(expected['hello.exe'].pe!.version.CompanyName);
  });

  it("reports ExifTool's error on an empty file rather than failing", async () => {
    const run = await runCatalogueEngine('exiftool', samplePath('binaries', 'empty.bin'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toContain('ExifTool: File is empty');
    expect(section(run.report, 'Notes', 'text').text).toContain('File is empty');
  });
});
