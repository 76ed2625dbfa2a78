import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { isGzip, isTar, isZip } from '@menagerie/storage';

/**
 * What the console shows of a job's result, computed from a bounded read of
 * the stored file: a preview never reads a whole large result, never inflates
 * a compressed one without limit, and never lists more than a bounded number
 * of archive entries. Its output is bounded too, whatever the input: JSON
 * re-indented is cut at `jsonChars` and indents at most `jsonIndentDepth`
 * levels (nesting would otherwise grow it quadratically), and each archive
 * entry's name is cut at `entryNameChars`. Whatever is cut says so in `note`.
 */
export const PREVIEW_LIMITS = {
  /** Text and JSON results: bytes read and shown. */
  textBytes: 2 * 1024 * 1024,
  /** JSON results: characters of the pretty-printed text shown. */
  jsonChars: 4 * 1024 * 1024,
  /** JSON results: nesting levels indented; deeper levels stay at this indent. */
  jsonIndentDepth: 32,
  /** Binary results: the bytes of the hex preview. */
  hexBytes: 512,
  /** Archives: entries listed. */
  archiveEntries: 1000,
  /** Archives: characters of each entry's name shown. */
  entryNameChars: 1024,
  /** Archives: bytes of the stored file read while listing. */
  archiveReadBytes: 16 * 1024 * 1024,
  /** Compressed archives: bytes inflated while listing (bounds a gzip bomb). */
  archiveInflateBytes: 128 * 1024 * 1024,
  /** Zip: bytes of the central directory read. */
  zipDirectoryBytes: 4 * 1024 * 1024,
} as const;

export type PreviewLimits = { [K in keyof typeof PREVIEW_LIMITS]: number };

export interface ArchiveEntry {
  name: string;
  /** Uncompressed size in bytes; null when the archive doesn't say. */
  size: number | null;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
}

export type Preview =
  | { kind: 'none'; reason: string }
  | {
      kind: 'json';
      size: number;
      text: string;
      /** Set when the pretty-printed text is cut; `note` says why, and also when deep nesting is not indented further. */
      truncated: boolean;
      note: string | null;
    }
  | { kind: 'text'; size: number; text: string; truncated: boolean }
  | {
      kind: 'archive';
      size: number;
      format: 'tar.gz' | 'tar' | 'zip';
      entries: ArchiveEntry[];
      /** Set when not every entry is listed; `note` says why. */
      truncated: boolean;
      note: string | null;
    }
  | { kind: 'binary'; size: number; bytes: number; hex: string; note: string | null };

/** Positioned reads, as a FileHandle gives them (and blobReader, from ranged reads of the store). */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** A stored file opened for reading; the caller closes it. */
export interface OpenFile {
  handle: PositionalReader;
  size: number;
}

/** Previews an opened file with bounded, positioned reads; the handle stays the caller's to close. */
export async function previewFile({ handle, size }: OpenFile, limits: PreviewLimits = PREVIEW_LIMITS): Promise<Preview> {
  const head = await readAt(handle, 0, Math.min(size, 4096));

  if (isGzip(head)) {
    const listed = await listTar(handle, size, true, limits).catch(() => null);
    if (listed) return { kind: 'archive', size, format: 'tar.gz', ...listed };
    return binary(handle, size, limits, 'gzip-compressed data that is not a tar archive');
  }
  if (isTar(head)) {
    const listed = await listTar(handle, size, false, limits).catch(() => null);
    if (listed) return { kind: 'archive', size, format: 'tar', ...listed };
    return binary(handle, size, limits, 'a damaged tar archive');
  }
  if (isZip(head)) {
    const listed = await listZip(handle, size, limits).catch(() => null);
    if (listed) return { kind: 'archive', size, format: 'zip', ...listed };
    return binary(handle, size, limits, 'a zip archive whose directory could not be read');
  }

  const shown = Math.min(size, limits.textBytes);
  const bytes = await readAt(handle, 0, shown);
  const truncated = shown < size;
  const text = decodeText(bytes, truncated);
  if (text === null) return binary(handle, size, limits, null, bytes);
  if (!truncated && /^\s*[[{]/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined; // not JSON after all: shown as text
    }
    if (parsed !== undefined) return { kind: 'json', size, ...prettyJson(parsed, limits) };
  }
  return { kind: 'text', size, text, truncated };
}

/**
 * `JSON.stringify(value, null, 2)`, but bounded: it stops at `jsonChars`
 * characters, and indents no deeper than `jsonIndentDepth` levels. It walks
 * the value with a stack of its own, so no nesting overflows the call stack,
 * and every step writes output, so the work is bounded by the output.
 */
export function prettyJson(
  value: unknown,
  limits: Pick<PreviewLimits, 'jsonChars' | 'jsonIndentDepth'>,
): { text: string; truncated: boolean; note: string | null } {
  const pads = Array.from({ length: limits.jsonIndentDepth + 1 }, (_, depth) => `\n${'  '.repeat(depth)}`);
  const pad = (depth: number) => pads[Math.min(depth, limits.jsonIndentDepth)];
  const out: string[] = [];
  let length = 0;
  let cut = false;
  let flattened = false;
  const emit = (s: string): boolean => {
    if (length + s.length <= limits.jsonChars) {
      out.push(s);
      length += s.length;
      return true;
    }
    let head = s.slice(0, limits.jsonChars - length);
    if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1); // never half a character
    out.push(head);
    cut = true;
    return false;
  };

  interface Frame {
    container: unknown[] | Record<string, unknown>;
    keys: string[] | null;
    next: number;
    depth: number;
  }
  const stack: Frame[] = [];
  /** Writes a primitive, an empty container, or a container's opening (and stacks it). */
  const open = (v: unknown, depth: number): boolean => {
    if (depth > limits.jsonIndentDepth) flattened = true;
    if (Array.isArray(v)) {
      if (v.length === 0) return emit('[]');
      stack.push({ container: v, keys: null, next: 0, depth });
      return emit('[');
    }
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 0) return emit('{}');
      stack.push({ container: v as Record<string, unknown>, keys, next: 0, depth });
      return emit('{');
    }
    return emit(JSON.stringify(v));
  };

  let going = open(value, 0);
  while (going && stack.length > 0) {
    const frame = stack[stack.length - 1];
    const items = frame.keys ?? (frame.container as unknown[]);
    if (frame.next === items.length) {
      stack.pop();
      going = emit(pad(frame.depth) + (frame.keys ? '}' : ']'));
      continue;
    }
    const i = frame.next++;
    const sep = (i === 0 ? '' : ',') + pad(frame.depth + 1);
    if (frame.keys) {
      const key = frame.keys[i];
      going = emit(`${sep}${JSON.stringify(key)}: `) && open((frame.container as Record<string, unknown>)[key], frame.depth + 1);
    } else {
      going = emit(sep) && open((frame.container as unknown[])[i], frame.depth + 1);
    }
  }
  const notes = [
    cut ? `only the first ${limits.jsonChars} characters of the pretty-printed JSON are shown` : null,
    flattened ? `nesting deeper than ${limits.jsonIndentDepth} levels is not indented further` : null,
  ].filter((n): n is string => n !== null);
  return { text: out.join(''), truncated: cut, note: notes.length > 0 ? notes.join('; ') : null };
}

async function* chunksOf(handle: PositionalReader, length: number, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  for (let position = 0; position < length;) {
    const bytes = await readAt(handle, position, Math.min(chunk, length - position));
    if (bytes.length === 0) return;
    position += bytes.length;
    yield bytes;
  }
}

async function readAt(handle: PositionalReader, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buf, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buf.subarray(0, read);
}

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

async function binary(handle: PositionalReader, size: number, limits: PreviewLimits, note: string | null, head?: Buffer): Promise<Preview> {
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

interface Listing {
  entries: ArchiveEntry[];
  truncated: boolean;
  note: string | null;
}

/** An entry's name as listed: cut at `entryNameChars`, marked with an ellipsis when it was. */
function shownName(name: string, limits: PreviewLimits): { name: string; cut: boolean } {
  if (name.length <= limits.entryNameChars) return { name, cut: false };
  let head = name.slice(0, limits.entryNameChars);
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return { name: `${head}…`, cut: true };
}

/** The note on a listing whose names were cut, added to the note it had. */
function withNameNote(note: string | null, namesCut: boolean, limits: PreviewLimits): string | null {
  if (!namesCut) return note;
  const names = `names longer than ${limits.entryNameChars} characters are cut`;
  return note ? `${note}; ${names}` : names;
}

function entryType(type: string | null | undefined): ArchiveEntry['type'] {
  return type === 'file' || type === 'directory' || type === 'symlink' || type === 'link'
    ? type
    : type === 'contiguous-file'
      ? 'file'
      : 'other';
}

/**
 * Passes at most `max` bytes, then ends its output (so the reader sees the end
 * of the data) and calls `onCap`, which stops whatever feeds it.
 */
function capped(max: number, onCap: () => void): Transform {
  let seen = 0;
  let stopped = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (stopped) return done();
      const room = max - seen;
      if (chunk.length <= room) {
        seen += chunk.length;
        return done(null, chunk);
      }
      // More than `max` bytes: pass what fits, end the output, stop the source.
      stopped = true;
      seen = max;
      if (room > 0) this.push(chunk.subarray(0, room));
      this.push(null);
      onCap();
      done();
    },
  });
}

/**
 * Lists a tar (optionally gzip-compressed) archive by streaming its headers.
 * Reads at most `archiveReadBytes` of the file and inflates at most
 * `archiveInflateBytes`; an archive cut by either limit is listed as far as
 * it was read. Throws when the data isn't a tar archive at all.
 */
export async function listTar(
  handle: PositionalReader,
  size: number,
  gzip: boolean,
  limits: PreviewLimits = PREVIEW_LIMITS,
): Promise<Listing> {
  const entries: ArchiveEntry[] = [];
  let note: string | null = null;
  let namesCut = false;
  const readCapped = size > limits.archiveReadBytes;
  // Positioned reads of the caller's handle, which stays open (a FileHandle's own
  // read stream closes the handle when it is destroyed, whatever autoClose says).
  const file = Readable.from(chunksOf(handle, Math.min(size, limits.archiveReadBytes)));
  const sources: Readable[] = [file];
  let tarInput: Readable = file;
  if (gzip) {
    const gunzip = createGunzip();
    const cap = capped(limits.archiveInflateBytes, () => {
      note ??= `listing stopped after inflating ${limits.archiveInflateBytes} bytes`;
      file.destroy();
    });
    file.pipe(gunzip).pipe(cap);
    sources.push(gunzip, cap);
    tarInput = cap;
  }
  const ex = extract();
  for (const s of sources) s.on('error', (err) => ex.destroy(err));
  tarInput.pipe(ex);
  try {
    for await (const entry of ex) {
      if (entries.length >= limits.archiveEntries) {
        note = `only the first ${limits.archiveEntries} entries are listed`;
        entry.resume();
        break;
      }
      const { name, size: entrySize, type } = entry.header;
      const isFile = type === 'file' || type === 'contiguous-file';
      const shown = shownName(name.replace(/^\.\//, ''), limits);
      namesCut ||= shown.cut;
      entries.push({ name: shown.name, size: isFile ? (entrySize ?? 0) : null, type: entryType(type) });
      entry.resume();
    }
  } catch (err) {
    // Data cut short by a limit: list what was read. Anything else isn't a tar archive.
    if (!(readCapped || note) || entries.length === 0) throw err;
  } finally {
    ex.destroy();
    for (const s of sources) s.destroy();
  }
  if (readCapped) note ??= `listing stopped after reading ${limits.archiveReadBytes} bytes of the archive`;
  const listed = entries.filter((e) => e.name !== '' && e.name !== '.');
  note = withNameNote(note, namesCut, limits);
  return { entries: listed, truncated: note !== null, note };
}

/** Lists a zip archive from its central directory (zip64 included). Throws when there is none. */
export async function listZip(handle: PositionalReader, size: number, limits: PreviewLimits = PREVIEW_LIMITS): Promise<Listing> {
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await readAt(handle, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory');
  let total = tail.readUInt16LE(eocd + 10);
  let dirSize = tail.readUInt32LE(eocd + 12);
  let dirOffset = tail.readUInt32LE(eocd + 16);
  if (total === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== 0x07064b50) throw new Error('no zip64 locator');
    const recordOffset = Number(tail.readBigUInt64LE(locator + 8));
    const record = await readAt(handle, recordOffset, 56);
    if (record.length < 56 || record.readUInt32LE(0) !== 0x06064b50) throw new Error('no zip64 end of central directory');
    total = Number(record.readBigUInt64LE(32));
    dirSize = Number(record.readBigUInt64LE(40));
    dirOffset = Number(record.readBigUInt64LE(48));
  }
  if (dirOffset + dirSize > size) throw new Error('central directory out of bounds');
  const dirCapped = dirSize > limits.zipDirectoryBytes;
  const dir = await readAt(handle, dirOffset, Math.min(dirSize, limits.zipDirectoryBytes));

  const entries: ArchiveEntry[] = [];
  let namesCut = false;
  let pos = 0;
  while (pos + 46 <= dir.length && entries.length < limits.archiveEntries) {
    if (dir.readUInt32LE(pos) !== 0x02014b50) {
      if (entries.length === 0) throw new Error('bad central directory entry');
      break;
    }
    const flags = dir.readUInt16LE(pos + 8);
    let uncompressed: number | null = dir.readUInt32LE(pos + 24);
    const nameLength = dir.readUInt16LE(pos + 28);
    const extraLength = dir.readUInt16LE(pos + 30);
    const commentLength = dir.readUInt16LE(pos + 32);
    const externalAttrs = dir.readUInt32LE(pos + 38);
    const end = pos + 46 + nameLength + extraLength + commentLength;
    if (end > dir.length) break;
    const fullName = dir.subarray(pos + 46, pos + 46 + nameLength).toString(flags & 0x800 ? 'utf8' : 'latin1');
    const shown = shownName(fullName, limits);
    namesCut ||= shown.cut;
    const name = shown.name;
    if (uncompressed === 0xffffffff) {
      uncompressed = zip64Size(dir.subarray(pos + 46 + nameLength, pos + 46 + nameLength + extraLength));
    }
    const isDir = fullName.endsWith('/');
    const isLink = ((externalAttrs >>> 16) & 0o170000) === 0o120000;
    entries.push({ name, size: isDir ? null : uncompressed, type: isDir ? 'directory' : isLink ? 'symlink' : 'file' });
    pos = end;
  }
  const incomplete = entries.length < total;
  const note = withNameNote(
    !incomplete
      ? null
      : entries.length >= limits.archiveEntries
        ? `only the first ${limits.archiveEntries} of ${total} entries are listed`
        : dirCapped
          ? `only the entries in the first ${limits.zipDirectoryBytes} bytes of the directory are listed (${entries.length} of ${total})`
          : `the directory lists ${total} entries but only ${entries.length} could be read`,
    namesCut,
    limits,
  );
  return { entries, truncated: note !== null, note };
}

function zip64Size(extra: Buffer): number | null {
  let pos = 0;
  while (pos + 4 <= extra.length) {
    const id = extra.readUInt16LE(pos);
    const length = extra.readUInt16LE(pos + 2);
    if (id === 0x0001 && length >= 8 && pos + 12 <= extra.length) return Number(extra.readBigUInt64LE(pos + 4));
    pos += 4 + length;
  }
  return null;
}
