import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { extract, pack, type Header } from 'tar-stream';
import { BUNDLE_LIMITS, BundleError } from './bundle';
import { packBundle, unpackBundle } from './bundle-tar';

const dirs: string[] = [];
function dir(): string {
  const made = mkdtempSync(join(tmpdir(), 'menagerie-bundle-'));
  dirs.push(made);
  return made;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every byte of a stream (Node's or tar-stream's own). */
async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A tar of these members, in this order, as any tar tool might write them. */
async function tarOf(members: Array<Partial<Header> & { name: string } & { content?: string }>): Promise<Buffer> {
  const p = pack();
  for (const { content, ...h } of members) p.entry({ ...h, size: content?.length ?? 0 }, content ?? '');
  p.finalize();
  return collect(p);
}

async function members(tar: Readable): Promise<Array<Partial<Header> & { name: string } & { content: string }>> {
  const found: Array<Partial<Header> & { name: string } & { content: string }> = [];
  const ex = extract();
  tar.pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) found.push({ ...entry.header, content: (await collect(entry)).toString() });
  return found;
}

async function refusal(tar: Buffer | Readable, limits = BUNDLE_LIMITS): Promise<BundleError> {
  const source = Buffer.isBuffer(tar) ? Readable.from([tar]) : tar;
  const err = await unpackBundle(source, dir(), { limits }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof BundleError)) throw new Error(`expected a BundleError, got ${String(err)}`);
  return err;
}

const RULES = [
  { name: './', type: 'directory' as const },
  { name: './z.yar', content: 'rule z { condition: true }' },
  { name: './generic/', type: 'directory' as const },
  { name: './generic/url.yar', content: 'rule url { strings: $a = "http" condition: $a }' },
  { name: `./${'long-name-'.repeat(15)}.yar`, content: 'rule long { condition: false }' },
  { name: './empty/', type: 'directory' as const },
];

describe('unpacking a bundle tar', () => {
  it('extracts files and directories, hashing each, and gives the facts', async () => {
    const target = dir();
    const { facts, files, directories } = await unpackBundle(Readable.from([await tarOf(RULES)]), target);
    expect(files.map((f) => f.path)).toEqual(['generic/url.yar', `${'long-name-'.repeat(15)}.yar`, 'z.yar']);
    expect(directories).toEqual(['generic']);
    expect(facts).toMatchObject({ files: 3, size: RULES.reduce((n, m) => n + (m.content?.length ?? 0), 0) });
    expect(readFileSync(join(target, 'generic/url.yar'), 'utf8')).toBe(RULES[3].content);
    expect(readdirSync(target).sort()).toEqual(['empty', 'generic', `${'long-name-'.repeat(15)}.yar`, 'z.yar']);
  });

  it('gives the same digest however the same files were packed: order, ./ or not, modes, owners, times', async () => {
    const a = await unpackBundle(Readable.from([await tarOf(RULES)]), dir());
    const shuffled = [...RULES].reverse().map((m) => ({
      ...m,
      name: m.name.replace(/^\.\//, ''),
      mode: m.type === 'directory' ? 0o700 : 0o600,
      uid: 1234,
      uname: 'someone',
      mtime: new Date('2020-01-01'),
    }));
    const b = await unpackBundle(Readable.from([await tarOf(shuffled.filter((m) => m.name !== ''))]), dir());
    expect(b.facts.digest).toBe(a.facts.digest);
  });

  it('refuses a symbolic link, a hard link, a device or a FIFO, naming the member', async () => {
    for (const [type, what] of [
      ['symlink', 'a symbolic link'],
      ['link', 'a hard link'],
      ['character-device', 'a character device'],
      ['fifo', 'a FIFO'],
    ] as const) {
      const err = await refusal(
        await tarOf([
          { name: 'a.yar', content: 'x' },
          { name: 'evil', type, linkname: '/etc/passwd' },
        ]),
      );
      expect(err.message).toBe(`"evil": is ${what}; a bundle holds only regular files and directories`);
      expect(err.member).toBe('evil');
    }
  });

  it('refuses ../ and absolute paths before writing anything of them', async () => {
    const outside = dir();
    const target = join(outside, 'bundle');
    mkdirSync(target);
    const err = await unpackBundle(Readable.from([await tarOf([{ name: '../x', content: 'escaped' }])]), target).catch((e: unknown) => e);
    expect((err as BundleError).message).toBe('"../x": leads out of the bundle (..)');
    expect(readdirSync(outside)).toEqual(['bundle']);
    expect((await refusal(await tarOf([{ name: '/etc/cron.d/x', content: 'x' }]))).message).toMatch(/absolute path/);
  });

  it('refuses what is not a tar, an empty tar, and a tar past the bounds (too large)', async () => {
    expect((await refusal(Buffer.from('this is not a tar archive, only some text that is long enough'.repeat(20)))).message).toMatch(
      /not a valid tar archive/,
    );
    expect((await refusal(await tarOf([{ name: 'empty/', type: 'directory' }]))).message).toBe('holds no file');
    const big = await refusal(await tarOf([{ name: 'a', content: 'x'.repeat(200) }]), { ...BUNDLE_LIMITS, totalBytes: 100 });
    expect(big).toMatchObject({ tooLarge: true, message: 'its files hold more than 100 bytes together' });
  });

  it('leaves the source to the caller: unpiped, not destroyed, when a member is refused', async () => {
    const source = new PassThrough();
    const unpacking = unpackBundle(source, dir());
    source.write(await tarOf([{ name: 'link', type: 'symlink', linkname: 'x' }]));
    await expect(unpacking).rejects.toThrow(/symbolic link/);
    expect(source.destroyed).toBe(false);
    source.end();
  });
});

describe('packing a directory as a bundle', () => {
  it('packs it canonically: sorted, directories that hold files, mode 0644/0755, mtime 0, uid and gid 0', async () => {
    const source = dir();
    mkdirSync(join(source, 'b/c'), { recursive: true });
    mkdirSync(join(source, 'empty'));
    writeFileSync(join(source, 'b/c/one.yar'), 'one', { mode: 0o600 });
    writeFileSync(join(source, 'b-two.yar'), 'two', { mode: 0o755 });
    const packed = await packBundle(source);
    expect(packed.files).toEqual([
      { path: 'b-two.yar', size: 3 },
      { path: 'b/c/one.yar', size: 3 },
    ]);
    const found = await members(packed.tar());
    expect(found.map((m) => [m.name, m.type, m.mode, m.uid, m.gid, m.mtime?.getTime(), m.uname, m.content])).toEqual([
      ['b', 'directory', 0o755, 0, 0, 0, '', ''],
      ['b-two.yar', 'file', 0o644, 0, 0, 0, '', 'two'],
      ['b/c', 'directory', 0o755, 0, 0, 0, '', ''],
      ['b/c/one.yar', 'file', 0o644, 0, 0, 0, '', 'one'],
    ]);
  });

  it('packs what it unpacked to the same bytes, and the digest stays', async () => {
    const first = dir();
    const unpacked = await unpackBundle(Readable.from([await tarOf(RULES)]), first);
    const tar = await collect((await packBundle(first)).tar());
    const second = dir();
    const again = await unpackBundle(Readable.from([tar]), second);
    expect(again.facts).toEqual(unpacked.facts);
    expect((await collect((await packBundle(second)).tar())).equals(tar)).toBe(true);
  });

  it('refuses a symbolic link inside, naming it, and a directory with no file', async () => {
    const source = dir();
    mkdirSync(join(source, 'rules'));
    writeFileSync(join(source, 'rules/a.yar'), 'a');
    symlinkSync('/etc/passwd', join(source, 'rules/passwd'));
    await expect(packBundle(source)).rejects.toThrow(
      '"rules/passwd": is a symbolic link; a bundle holds only regular files and directories',
    );
    const empty = dir();
    mkdirSync(join(empty, 'nothing'));
    await expect(packBundle(empty)).rejects.toThrow('holds no file');
  });
});
