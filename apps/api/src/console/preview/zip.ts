import { shownName, withNameNote } from './entry-names';
import { PREVIEW_LIMITS, type PreviewLimits } from './limits';
import { readAt, type PositionalReader } from './positional-read';
import type { ArchiveEntry, Listing } from './preview.types';

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
