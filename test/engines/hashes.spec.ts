import { readFileSync } from 'node:fs';
import { field, runCatalogueEngine, samplePath, tagValues } from '../support/engine-container';

/** The hashes facts.py computed in the builder with coreutils, ssdeep(1) and tlsh(1). */
interface Hashes {
  md5: string;
  sha1: string;
  sha256: string;
  ssdeep: string | null;
  tlsh: string | null;
}
const expected = JSON.parse(readFileSync(samplePath('binaries', 'expected.json'), 'utf8')) as Record<
  string,
  { size: number; hashes: Hashes }
>;

describe('hashes engine (hashlib, ssdeep, TLSH)', () => {
  it.each(['hello.exe', 'hello.elf', 'photo.jpg'])(
    'gives the md5, sha1, sha256, ssdeep and TLSH of %s that the builder computed independently',
    async (name) => {
      const want = expected[name].hashes;
      expect(want.tlsh).toMatch(/^T1[0-9A-F]{70}$/);
      const run = await runCatalogueEngine('hashes', samplePath('binaries', name));
      expect(run.exitCode).toBe(0);
      for (const kind of ['md5', 'sha1', 'sha256', 'ssdeep', 'tlsh'] as const)
        expect([kind, tagValues(run.report, `hash.${kind}`)]).toEqual([kind, [want[kind]]]);
      expect(field(run.report, 'Hashes', 'SHA-256')).toBe(want.sha256);
      expect(field(run.report, 'Hashes', 'Size')).toBe(`${expected[name].size} bytes`);
      expect(JSON.parse(run.result!.toString('utf8'))).toEqual({ ...want, size: expected[name].size });
    },
  );

  it('says why a file under 50 bytes has no TLSH, and still gives the other hashes', async () => {
    const want = expected['tiny.txt'];
    expect(want.size).toBeLessThan(50);
    const run = await runCatalogueEngine('hashes', samplePath('binaries', 'tiny.txt'));
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'hash.tlsh')).toEqual([]);
    expect(field(run.report, 'Hashes', 'TLSH')).toBe(`none: TLSH needs at least 50 bytes, and the file has ${want.size}`);
    expect(run.report?.summary).toContain('no TLSH');
    expect(tagValues(run.report, 'hash.sha256')).toEqual([want.hashes.sha256]);
    expect(tagValues(run.report, 'hash.ssdeep')).toEqual([want.hashes.ssdeep]);
  });

  it('hashes an empty file', async () => {
    const run = await runCatalogueEngine('hashes', samplePath('binaries', 'empty.bin'));
    expect(run.exitCode).toBe(0);
    expect(tagValues(run.report, 'hash.md5')).toEqual([expected['empty.bin'].hashes.md5]);
    expect(field(run.report, 'Hashes', 'Size')).toBe('0 bytes');
  });
});
