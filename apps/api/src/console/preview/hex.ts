import type { PreviewLimits } from './limits';
import { readAt, type PositionalReader } from './positional-read';
import type { Preview } from './preview.types';

/** A binary result: a hex dump of its first `hexBytes` (from `head` when it already holds them). */
export async function binaryPreview(
  handle: PositionalReader,
  size: number,
  limits: PreviewLimits,
  note: string | null,
  head?: Buffer,
): Promise<Preview> {
  const bytes =
    head && head.length >= Math.min(size, limits.hexBytes)
      ? head.subarray(0, limits.hexBytes)
      : await readAt(handle, 0, Math.min(size, limits.hexBytes));
  return { kind: 'binary', size, bytes: bytes.length, hex: hexDump(bytes), note };
}

/** `00000000  4d 5a 90 00 03 00 00 00  04 00 00 00 ff ff 00 00  |MZ..............|` */
export function hexDump(bytes: Buffer): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}
