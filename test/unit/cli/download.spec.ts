import { filenameFrom, safeName } from '../../../apps/cli/src/download';

describe('filenameFrom (Content-Disposition)', () => {
  it('prefers the UTF-8 name over the ASCII fallback', () => {
    expect(filenameFrom(`attachment; filename="r_sum_.filemeta.json"; filename*=UTF-8''r%C3%A9sum%C3%A9.filemeta.json`)).toBe(
      'résumé.filemeta.json',
    );
  });

  it('reads a quoted or a bare name', () => {
    expect(filenameFrom('attachment; filename="sample.apktool.tar.gz"')).toBe('sample.apktool.tar.gz');
    expect(filenameFrom('attachment; filename="a \\"b\\".txt"')).toBe('a "b".txt');
    expect(filenameFrom('attachment; filename=plain.txt')).toBe('plain.txt');
  });

  it('keeps only the last path segment, so a name never leaves the directory', () => {
    expect(filenameFrom(`attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`)).toBe('passwd');
    expect(filenameFrom('attachment; filename="..\\\\evil.txt"')).toBe('evil.txt');
    expect(filenameFrom('attachment; filename=".."')).toBeNull();
  });

  it('answers null without a usable name', () => {
    expect(filenameFrom(null)).toBeNull();
    expect(filenameFrom('attachment')).toBeNull();
    expect(filenameFrom(`attachment; filename*=UTF-8''%E0%A4%A`)).toBeNull();
  });

  it('prefixes a leading dot, so a server never names a hidden file', () => {
    expect(filenameFrom('attachment; filename=".npmrc"')).toBe('_.npmrc');
    expect(filenameFrom(`attachment; filename*=UTF-8''..%2F.ssh%2F.authorized_keys`)).toBe('_.authorized_keys');
    expect(safeName('a.b')).toBe('a.b');
  });

  it('strips control characters', () => {
    expect(safeName('a\nb\x00c.txt')).toBe('abc.txt');
  });
});
