import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { decodeText, hexDump, PREVIEW_LIMITS, type PreviewLimits } from '../../apps/api/src/console/result-preview';
import { previewPath, scratchFiles } from '../support/preview';
import { FIXTURES } from '../support/env';

/**
 * The console's result preview on real files: what kind each result is shown
 * as, and that every limit bounds the work (entries listed, bytes read,
 * bytes inflated). No services needed.
 */
describe('result preview', () => {
  // Building and inflating the archives takes seconds on a loaded machine: not a measure of anything here.
  jest.setTimeout(60_000);
  const { file, remove } = scratchFiles('menagerie-preview-');
  afterAll(remove);
  const limits = (overrides: Partial<PreviewLimits>): PreviewLimits => ({ ...PREVIEW_LIMITS, ...overrides });

  async function tarOf(entries: Array<{ name: string; content?: Buffer | string; type?: 'directory' }>): Promise<Buffer> {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    const done = new Promise<void>((r) => p.on('end', () => r()));
    for (const e of entries) {
      if (e.type === 'directory') p.entry({ name: e.name, type: 'directory' });
      else p.entry({ name: e.name, size: Buffer.byteLength(e.content ?? '') }, e.content ?? '');
    }
    p.finalize();
    await done;
    return Buffer.concat(chunks);
  }

  it('pretty-prints JSON, shows other text as text, and binary as a hex dump', async () => {
    expect(await previewPath(file('{"a":[1,2],"b":{"c":"<x>"}}'))).toEqual({
      kind: 'json',
      size: 27,
      text: '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {\n    "c": "<x>"\n  }\n}',
      truncated: false,
      note: null,
    });
    expect(await previewPath(file('[not json'))).toMatchObject({ kind: 'text', text: '[not json', truncated: false });
    expect(await previewPath(file('héllo\n'))).toMatchObject({ kind: 'text', text: 'héllo\n' });
    const bin = await previewPath(file(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2])));
    expect(bin).toEqual({ kind: 'binary', size: 7, bytes: 7, hex: `00000000  7f 45 4c 46 00 01 02${' '.repeat(30)}|.ELF...|`, note: null });
    // Invalid UTF-8 is binary too.
    expect((await previewPath(file(Buffer.from([0x41, 0xff, 0x41])))).kind).toBe('binary');
  });

  it('reads at most textBytes of a text result, and at most hexBytes of a binary one', async () => {
    const text = await previewPath(file('abcdefghij'.repeat(100)), limits({ textBytes: 25 }));
    expect(text).toEqual({ kind: 'text', size: 1000, text: 'abcdefghijabcdefghijabcde', truncated: true });
    // A large JSON document cut short is shown as (truncated) text, not parsed.
    expect(await previewPath(file(`[${'1,'.repeat(100)}1]`), limits({ textBytes: 10 }))).toMatchObject({ kind: 'text', truncated: true });
    const big = Buffer.alloc(100_000, 0xab);
    const bin = await previewPath(file(big));
    expect(bin).toMatchObject({ kind: 'binary', size: 100_000, bytes: 512 });
    expect((bin as { hex: string }).hex.split('\n')).toHaveLength(32);
  });

  it('does not hold a multi-byte character cut by the limit against the text', () => {
    const bytes = Buffer.from('ab€'); // € is 3 bytes
    expect(decodeText(bytes.subarray(0, 4), true)).toBe('ab');
    expect(decodeText(bytes.subarray(0, 4), false)).toBeNull();
    expect(decodeText(Buffer.from('a\0b'), false)).toBeNull();
  });

  it('formats a hex dump like hexdump -C', () => {
    const dump = hexDump(Buffer.from('0123456789abcdefXYZ'));
    expect(dump.split('\n')).toEqual([
      '00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|',
      '00000010  58 59 5a                                          |XYZ|',
    ]);
  });

  it('lists tar and tar.gz archives', async () => {
    const tar = await tarOf([
      { name: 'd/', type: 'directory' },
      { name: 'd/a.txt', content: 'aaa' },
      { name: './b.bin', content: Buffer.alloc(700) },
    ]);
    const expected = [
      { name: 'd/', size: null, type: 'directory' },
      { name: 'd/a.txt', size: 3, type: 'file' },
      { name: 'b.bin', size: 700, type: 'file' },
    ];
    expect(await previewPath(file(tar))).toEqual({
      kind: 'archive',
      size: tar.length,
      format: 'tar',
      entries: expected,
      truncated: false,
      note: null,
    });
    const tgz = gzipSync(tar);
    expect(await previewPath(file(tgz))).toEqual({
      kind: 'archive',
      size: tgz.length,
      format: 'tar.gz',
      entries: expected,
      truncated: false,
      note: null,
    });
  });

  it('lists at most archiveEntries entries', async () => {
    const tar = await tarOf(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, content: `${i}` })));
    const p = await previewPath(file(gzipSync(tar)), limits({ archiveEntries: 3 }));
    expect(p).toMatchObject({ kind: 'archive', truncated: true, note: 'only the first 3 entries are listed' });
    expect((p as { entries: unknown[] }).entries).toHaveLength(3);
  });

  it('stops inflating a gzip bomb at archiveInflateBytes', async () => {
    // 64 MB of zeros compresses to ~64 kB; only 1 MB of it is inflated.
    const bomb = gzipSync(
      await tarOf([
        { name: 'first', content: 'x' },
        { name: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) },
        { name: 'last', content: 'y' },
      ]),
    );
    const p = await previewPath(file(bomb), limits({ archiveInflateBytes: 1024 * 1024 }));
    expect(p).toMatchObject({
      kind: 'archive',
      format: 'tar.gz',
      truncated: true,
      note: 'listing stopped after inflating 1048576 bytes',
      entries: [
        { name: 'first', size: 1 },
        { name: 'zeros', size: 64 * 1024 * 1024 },
      ],
    });
  });

  it('reads at most archiveReadBytes of an archive', async () => {
    const tar = await tarOf(Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, content: Buffer.alloc(1000, i) })));
    const p = await previewPath(file(tar), limits({ archiveReadBytes: 8 * 1024 }));
    expect(p).toMatchObject({
      kind: 'archive',
      format: 'tar',
      truncated: true,
      note: 'listing stopped after reading 8192 bytes of the archive',
    });
    const listed = (p as { entries: unknown[] }).entries.length;
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(40);
  });

  it('lists a zip (an APK) from its central directory, bounded too', async () => {
    const apk = join(FIXTURES, 'sample.apk');
    const p = await previewPath(apk);
    expect(p).toMatchObject({ kind: 'archive', format: 'zip', truncated: false, note: null });
    const entries = (p as { entries: Array<{ name: string; size: number | null }> }).entries;
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(['AndroidManifest.xml', 'classes.dex']));
    expect(entries.every((e) => typeof e.size === 'number')).toBe(true);
    const capped = await previewPath(apk, limits({ archiveEntries: 2 }));
    expect(capped).toMatchObject({ kind: 'archive', truncated: true, note: `only the first 2 of ${entries.length} entries are listed` });
  });

  it('shows damaged or non-tar compressed data as binary', async () => {
    expect(await previewPath(file(gzipSync('just text, gzipped')))).toMatchObject({
      kind: 'binary',
      note: 'gzip-compressed data that is not a tar archive',
    });
    const apk = readFileSync(join(FIXTURES, 'sample.apk'));
    expect(await previewPath(file(apk.subarray(0, 200)))).toMatchObject({
      kind: 'binary',
      note: 'a zip archive whose directory could not be read',
    });
  });
});
