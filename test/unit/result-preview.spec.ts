import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { prettyJson, PREVIEW_LIMITS, type Preview } from '../../apps/api/src/console/result-preview';
import { previewPath, scratchFiles } from '../support/preview';

/**
 * The preview's output is bounded, not only its reads: hostile results that
 * are small on disk but huge when shown come out cut, saying so.
 */
describe('result preview output bounds', () => {
  const { file, remove } = scratchFiles('menagerie-preview-bounds-');
  afterAll(remove);
  /** What the API sends for a preview, in characters. */
  const shipped = (p: Preview) => JSON.stringify(p).length;

  async function tarOf(entries: Array<{ name: string; content: string }>): Promise<Buffer> {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    const done = new Promise<void>((r) => p.on('end', () => r()));
    for (const e of entries) p.entry({ name: e.name, size: Buffer.byteLength(e.content) }, e.content);
    p.finalize();
    await done;
    return Buffer.concat(chunks);
  }

  it('the 86 kB JSON document that re-indented to 258 M characters comes out whole in under jsonChars', async () => {
    // 40,000 numbers 3,000 levels deep: JSON.stringify(v, null, 2) indents each by 6,000 spaces.
    const doc = `${'['.repeat(3000)}${Array(40_000).fill('1').join(',')}${']'.repeat(3000)}`;
    expect(doc.length).toBe(85_999);
    const p = await previewPath(file(doc));
    expect(p).toMatchObject({
      kind: 'json',
      truncated: false,
      note: `nesting deeper than ${PREVIEW_LIMITS.jsonIndentDepth} levels is not indented further`,
    });
    if (p.kind !== 'json') throw new Error('not json');
    expect(p.text.length).toBeLessThan(PREVIEW_LIMITS.jsonChars);
    // Nothing lost, only indentation (compared as text: jest's deep equality recurses past the stack at this depth).
    expect(JSON.stringify(JSON.parse(p.text))).toBe(JSON.stringify(JSON.parse(doc)));
    // No line is indented past the cap.
    const widest = Math.max(...p.text.split('\n').map((line) => line.length));
    expect(widest).toBe(2 * PREVIEW_LIMITS.jsonIndentDepth + 2);
  });

  it('JSON nested 43,000 levels deep comes out cut at jsonChars, saying so', async () => {
    const depth = 43_000;
    const p = await previewPath(file(`${'['.repeat(depth)}${']'.repeat(depth)}`));
    expect(p).toMatchObject({ kind: 'json', truncated: true });
    if (p.kind !== 'json') throw new Error('not json');
    expect(p.text.length).toBeLessThanOrEqual(PREVIEW_LIMITS.jsonChars);
    expect(p.text.length).toBeGreaterThan(PREVIEW_LIMITS.jsonChars - 100);
    expect(p.note).toBe(
      `only the first ${PREVIEW_LIMITS.jsonChars} characters of the pretty-printed JSON are shown; nesting deeper than ${PREVIEW_LIMITS.jsonIndentDepth} levels is not indented further`,
    );
    expect(shipped(p)).toBeLessThan(2 * PREVIEW_LIMITS.jsonChars); // each newline sent as \n
  });

  it('indents nesting up to jsonIndentDepth exactly as JSON.stringify does, and says when it stops', () => {
    const value = { a: [1, { b: [[], {}, 'x', null, true, 2.5] }], 'k"ey': '\u2028"' };
    expect(prettyJson(value, { jsonChars: 1e6, jsonIndentDepth: 32 })).toEqual({
      text: JSON.stringify(value, null, 2),
      truncated: false,
      note: null,
    });
    const deep = JSON.parse(`${'['.repeat(5)}1${']'.repeat(5)}`) as unknown;
    expect(prettyJson(deep, { jsonChars: 1e6, jsonIndentDepth: 2 })).toEqual({
      text: '[\n  [\n    [\n    [\n    [\n    1\n    ]\n    ]\n    ]\n  ]\n]',
      truncated: false,
      note: 'nesting deeper than 2 levels is not indented further',
    });
  });

  it('cuts inside a long string, never through a character', () => {
    const cut = prettyJson(['😀'.repeat(100)], { jsonChars: 10, jsonIndentDepth: 32 });
    expect(cut.truncated).toBe(true);
    expect(cut.text).toBe('[\n  "😀😀');
  });

  it('a tar whose entries have 4 MiB names lists each name cut at entryNameChars, saying so', async () => {
    // Just under tar-stream's 4 MiB cap on a pax header.
    const long = (c: string) => `${c.repeat(4 * 1024 * 1024 - 64)}.txt`;
    const tar = await tarOf([
      { name: long('a'), content: 'a' },
      { name: 'short.txt', content: 'b' },
      { name: long('c'), content: 'c' },
    ]);
    expect(tar.length).toBeGreaterThan(8 * 1024 * 1024); // the names are really there
    for (const archive of [tar, gzipSync(tar)]) {
      const p = await previewPath(file(archive));
      expect(p).toMatchObject({
        kind: 'archive',
        truncated: true,
        note: `names longer than ${PREVIEW_LIMITS.entryNameChars} characters are cut`,
      });
      if (p.kind !== 'archive') throw new Error('not an archive');
      expect(p.entries.map((e) => e.name)).toEqual([
        `${'a'.repeat(PREVIEW_LIMITS.entryNameChars)}…`,
        'short.txt',
        `${'c'.repeat(PREVIEW_LIMITS.entryNameChars)}…`,
      ]);
      expect(shipped(p)).toBeLessThan(4 * PREVIEW_LIMITS.entryNameChars);
    }
  });

  it('bounds the whole listing: at most archiveEntries names of at most entryNameChars each', async () => {
    const limits = { ...PREVIEW_LIMITS, archiveEntries: 5, entryNameChars: 100 };
    const tar = await tarOf(Array.from({ length: 20 }, (_, i) => ({ name: `${i}-${'x'.repeat(5000)}`, content: `${i}` })));
    const p = await previewPath(file(gzipSync(tar)), limits);
    expect(p).toMatchObject({
      kind: 'archive',
      truncated: true,
      note: 'only the first 5 entries are listed; names longer than 100 characters are cut',
    });
    if (p.kind !== 'archive') throw new Error('not an archive');
    expect(p.entries).toHaveLength(5);
    expect(shipped(p)).toBeLessThan(5 * 200);
  });
});
