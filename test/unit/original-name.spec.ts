import { cleanOriginalName, ORIGINAL_NAME_MAX } from '../../apps/api/src/jobs/original-name';

/** An uploaded file's name is kept as metadata only: shown as it reads, never longer than 255 characters. */
describe('cleanOriginalName', () => {
  const length = (s: string) => [...s].length;

  it.each([
    ['NEL (U+0085, a C1 control)', 'a\u0085b.apk'],
    ['the other C1 controls', 'a\u0080\u009b\u009fb.apk'],
    ['C0 controls and DEL', 'a\u0000\u0009\u000a\u001b\u007fb.apk'],
    ['LINE SEPARATOR (U+2028)', 'a\u2028b.apk'],
    ['PARAGRAPH SEPARATOR (U+2029)', 'a\u2029b.apk'],
    ['RIGHT-TO-LEFT OVERRIDE (U+202E)', 'a\u202eb.apk'],
    ['the other bidi controls', 'a\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061cb.apk'],
    ['zero-width characters and the BOM', 'a\u200b\u200c\u200d\u2060\ufeffb.apk'],
    ['a soft hyphen and tag characters', 'a\u00ad\u{e0001}\u{e0041}b.apk'],
    ['a lone surrogate', 'a\ud800b.apk'],
  ])('strips %s', (_what, name) => {
    expect(cleanOriginalName(name)).toBe('ab.apk');
  });

  it('keeps what a name says: letters of any script, emoji, spaces and punctuation', () => {
    expect(cleanOriginalName('résumé-😀-файл 名前 (1).apk')).toBe('résumé-😀-файл 名前 (1).apk');
    expect(cleanOriginalName('<img src=x onerror=alert(1)>.apk')).toBe('<img src=x onerror=alert(1)>.apk');
  });

  it('normalises to NFC, also across a stripped character', () => {
    expect(cleanOriginalName('e\u0301.txt')).toBe('\u00e9.txt');
    expect(cleanOriginalName('e\u200b\u0301.txt')).toBe('\u00e9.txt');
  });

  it('normalises before cutting, so a name that NFC lengthens still ends at 255 characters', () => {
    // U+FB2C normalises to three code points (NFC does not recompose it); the old order reached 765.
    const name = '\ufb2c'.repeat(300);
    const cleaned = cleanOriginalName(name);
    expect(length(cleaned)).toBe(ORIGINAL_NAME_MAX);
    expect(cleaned).toBe(name.normalize('NFC').slice(0, ORIGINAL_NAME_MAX));
    expect(ORIGINAL_NAME_MAX).toBe(255);
  });

  it('cuts at 255 characters, never inside one', () => {
    expect(cleanOriginalName('x'.repeat(10_000))).toBe('x'.repeat(255));
    const emoji = cleanOriginalName('😀'.repeat(300));
    expect(length(emoji)).toBe(255);
    expect(emoji).toBe('😀'.repeat(255));
  });

  it('gives "upload" for a name with nothing left', () => {
    expect(cleanOriginalName(undefined)).toBe('upload');
    expect(cleanOriginalName('')).toBe('upload');
    expect(cleanOriginalName(' \u202e\u2028\u0085 ')).toBe('upload');
  });

  it('trims the spaces a cut leaves at the end', () => {
    expect(cleanOriginalName(`${'x'.repeat(254)} y`)).toBe('x'.repeat(254));
  });
});
