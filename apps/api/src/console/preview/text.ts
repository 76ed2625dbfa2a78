/**
 * UTF-8 text, or null for binary: a NUL byte or an invalid sequence. A cut
 * multi-byte character at the end of a truncated read is not held against it.
 */
export function decodeText(bytes: Buffer, truncated: boolean): string | null {
  if (bytes.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes, { stream: truncated });
  } catch {
    return null;
  }
}
