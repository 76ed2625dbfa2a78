/** The longest original name kept, in characters (code points). */
export const ORIGINAL_NAME_MAX = 255;

/**
 * Characters that change how a name is shown rather than what it says:
 * controls (C0, DEL and C1, U+0085 included), format characters (bidi
 * overrides such as U+202E, zero-width characters, the BOM), line and
 * paragraph separators (U+2028, U+2029), and lone surrogates, which no
 * UTF-8 column can store.
 */
const UNSHOWN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * Keeps an original file name as metadata only. Normalised (NFC) before it is
 * cut, since normalising can lengthen a name; so the result never exceeds
 * ORIGINAL_NAME_MAX characters.
 */
export function cleanOriginalName(name: string | undefined): string {
  // Stripped before normalising too: a removed character may have kept a letter and its accent apart.
  const normal = (name ?? '').replace(UNSHOWN, '').normalize('NFC').replace(UNSHOWN, '');
  return [...normal.trim()].slice(0, ORIGINAL_NAME_MAX).join('').trim() || 'upload';
}
