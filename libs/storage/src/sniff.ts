import { Transform, type TransformCallback } from 'node:stream';
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
  const safe = stem
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80);
  return safe || 'input';
}

/** How much of an upload's start and end detectType looks at. */
export const TYPE_HEAD_BYTES = 64 * 1024;
export const TYPE_TAIL_BYTES = 64 * 1024;

const MAGIC: Array<{ at: number; bytes: string; mime: string }> = [
  { at: 0, bytes: '%PDF-', mime: 'application/pdf' },
  { at: 0, bytes: '\x7fELF', mime: 'application/x-elf' },
  { at: 0, bytes: 'dex\n', mime: 'application/x-dex' },
  { at: 0, bytes: '\xca\xfe\xba\xbe', mime: 'application/java-vm' },
  { at: 0, bytes: '\xcf\xfa\xed\xfe', mime: 'application/x-mach-binary' },
  { at: 0, bytes: '\xce\xfa\xed\xfe', mime: 'application/x-mach-binary' },
  { at: 0, bytes: '7z\xbc\xaf\x27\x1c', mime: 'application/x-7z-compressed' },
  { at: 0, bytes: 'Rar!\x1a\x07', mime: 'application/vnd.rar' },
  { at: 0, bytes: 'BZh', mime: 'application/x-bzip2' },
  { at: 0, bytes: '\xfd7zXZ\x00', mime: 'application/x-xz' },
  { at: 0, bytes: '\x28\xb5\x2f\xfd', mime: 'application/zstd' },
  { at: 0, bytes: '\x89PNG\r\n\x1a\n', mime: 'image/png' },
  { at: 0, bytes: '\xff\xd8\xff', mime: 'image/jpeg' },
  { at: 0, bytes: 'GIF8', mime: 'image/gif' },
  { at: 0, bytes: '\x00asm', mime: 'application/wasm' },
];

/** Entry names in a zip's local headers (its start) and central directory (its end). */
function zipNames(...parts: Buffer[]): string[] {
  const names: string[] = [];
  for (const part of parts) {
    for (const [signature, nameLengthAt, headerBytes] of [
      [0x04034b50, 26, 30],
      [0x02014b50, 28, 46],
    ] as const) {
      for (let i = part.indexOf('PK'); i >= 0 && i + headerBytes <= part.length; i = part.indexOf('PK', i + 1)) {
        if (part.readUInt32LE(i) !== signature) continue;
        const length = part.readUInt16LE(i + nameLengthAt);
        if (i + headerBytes + length <= part.length)
          names.push(part.subarray(i + headerBytes, i + headerBytes + length).toString('latin1'));
      }
    }
  }
  return names;
}

/** What kind of zip: an Android package, a Java archive, an OOXML or OpenDocument file, or a plain zip. */
function zipType(head: Buffer, tail: Buffer): string {
  const names = zipNames(head, tail);
  if (names.some((n) => n === 'AndroidManifest.xml' || /^classes\d*\.dex$/.test(n))) return 'application/vnd.android.package-archive';
  if (names.includes('META-INF/MANIFEST.MF')) return 'application/java-archive';
  const macros = names.some((n) => /^(word|xl|ppt)\/vbaProject\.bin$/.test(n));
  if (names.some((n) => n.startsWith('word/')))
    return macros
      ? 'application/vnd.ms-word.document.macroEnabled.12'
      : 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  if (names.some((n) => n.startsWith('xl/')))
    return macros ? 'application/vnd.ms-excel.sheet.macroEnabled.12' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (names.some((n) => n.startsWith('ppt/')))
    return macros
      ? 'application/vnd.ms-powerpoint.presentation.macroEnabled.12'
      : 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
  return 'application/zip';
}

const OLE_MAGIC = Buffer.from('d0cf11e0a1b11ae1', 'hex');
/** Stream names of an OLE compound file (UTF-16LE in its directory) that tell what it holds, first match wins. */
const OLE_STREAMS: Array<[string, string]> = [
  ['__substg1.0_', 'application/vnd.ms-outlook'],
  ['WordDocument', 'application/msword'],
  ['Workbook', 'application/vnd.ms-excel'],
  ['PowerPoint Document', 'application/vnd.ms-powerpoint'],
];

/** What an OLE compound file is, by the stream names in its directory where the head or tail holds it; else just OLE. */
function oleType(head: Buffer, tail: Buffer): string {
  for (const [name, mime] of OLE_STREAMS) {
    const utf16 = Buffer.from(name, 'utf16le');
    if (head.includes(utf16) || tail.includes(utf16)) return mime;
  }
  return 'application/x-ole-storage';
}

/** A PE file: MZ, and the PE signature where the DOS header points. */
function isPe(head: Buffer): boolean {
  if (head.length < 64 || head.toString('latin1', 0, 2) !== 'MZ') return false;
  const at = head.readUInt32LE(60);
  return at + 4 <= head.length && head.toString('latin1', at, at + 4) === 'PE\0\0';
}

/**
 * The MIME type of an input, detected from its first and last bytes (never
 * from its name or the client's Content-Type): the one rule that engines'
 * `accepts` and `rejects` are matched against, wherever they are checked.
 * Hand-written for the formats malware analysis sees (the `file-type`
 * package that knows APKs is ESM-only; this build is CommonJS).
 */
export function detectType(head: Buffer, tail: Buffer = Buffer.alloc(0)): string {
  if (head.length === 0) return 'application/x-empty';
  if (isZip(head)) return zipType(head, tail);
  if (head.subarray(0, 8).equals(OLE_MAGIC)) return oleType(head, tail);
  if (isPe(head)) return 'application/vnd.microsoft.portable-executable';
  if (head.toString('latin1', 0, 2) === 'MZ') return 'application/x-msdownload';
  for (const m of MAGIC) if (head.toString('latin1', m.at, m.at + m.bytes.length) === m.bytes) return m.mime;
  if (isGzip(head)) return 'application/gzip';
  if (isTar(head)) return 'application/x-tar';
  const text = head.toString('utf8');
  if (text.includes('\0') || text.slice(0, -4).includes('\ufffd')) return 'application/octet-stream';
  const start = text.trimStart();
  if (start.startsWith('#!')) return 'text/x-script';
  if (start.startsWith('{\\rtf')) return 'text/rtf';
  if (isMessage(text)) return 'message/rfc822';
  if (start.startsWith('{') || start.startsWith('[')) return 'application/json';
  if (/^<\?xml/i.test(start)) return 'application/xml';
  if (/^<(!doctype html|html)/i.test(start)) return 'text/html';
  return 'text/plain';
}

/** Header fields an e-mail message starts with (RFC 5322), one of which names its sender or route. */
const MESSAGE_FIELD =
  /^(?:return-path|received|from|to|subject|date|message-id|mime-version|delivered-to|x-[a-z0-9-]+|reply-to|cc|dkim-signature|authentication-results|content-type):[ \t]/i;
const MESSAGE_CORE = /^(?:from|received|return-path|message-id|delivered-to):/im;

/** An RFC 5322 message: its first lines are header fields (at least two), one of them From, Received, Return-Path, Message-ID or Delivered-To. */
function isMessage(text: string): boolean {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  let fields = 0;
  for (const line of lines.slice(0, 40)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && fields > 0) continue; // a folded field
    if (!MESSAGE_FIELD.test(line)) return false;
    fields++;
  }
  return fields >= 2 && MESSAGE_CORE.test(lines.slice(0, 40).join('\n'));
}

/**
 * Passes a stream through unchanged, keeping its first TYPE_HEAD_BYTES and
 * last TYPE_TAIL_BYTES: an upload's type is known once it is stored, without
 * reading it back.
 */
export class TypeTap extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.headBytes < TYPE_HEAD_BYTES) {
      const part = chunk.subarray(0, TYPE_HEAD_BYTES - this.headBytes);
      this.head.push(part);
      this.headBytes += part.length;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0].length >= TYPE_TAIL_BYTES) this.tailBytes -= this.tail.shift()!.length;
    done(null, chunk);
  }

  /** The detected type of what passed. */
  type(): string {
    const tail = Buffer.concat(this.tail);
    return detectType(Buffer.concat(this.head), tail.subarray(Math.max(0, tail.length - TYPE_TAIL_BYTES)));
  }
}
