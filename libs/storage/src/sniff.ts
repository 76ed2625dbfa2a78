import { gunzipSync } from 'node:zlib';

export interface Sniffed {
  extension: string;
  mime: string;
}

/** Guesses a result's type from its first bytes, for a sensible download name. */
export function sniff(head: Buffer): Sniffed {
  if (isGzip(head)) {
    try {
      const inner = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: tolerate a truncated head */ });
      if (isTar(inner)) return { extension: '.tar.gz', mime: 'application/gzip' };
    } catch {
      /* not enough of the stream to tell; still gzip */
    }
    return { extension: '.gz', mime: 'application/gzip' };
  }
  if (isTar(head)) return { extension: '.tar', mime: 'application/x-tar' };
  if (isZip(head)) return { extension: '.zip', mime: 'application/zip' };
  const text = head.toString('utf8');
  if (!text.includes('\0') && !text.includes('\ufffd')) {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return { extension: '.json', mime: 'application/json' };
    return { extension: '.txt', mime: 'text/plain; charset=utf-8' };
  }
  return { extension: '.bin', mime: 'application/octet-stream' };
}

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** A tar archive's first block: the ustar magic at offset 257. */
export function isTar(block: Buffer): boolean {
  return block.length >= 262 && block.subarray(257, 262).toString('latin1') === 'ustar';
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;
}

/** A file name safe for Content-Disposition and any file system: the original's stem, reduced to [A-Za-z0-9._-]. */
export function safeStem(originalName: string): string {
  const base = originalName.split(/[\\/]/).pop() ?? '';
  const stem = base.replace(/\.[^.]*$/, '');
  const safe = stem.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80);
  return safe || 'input';
}
