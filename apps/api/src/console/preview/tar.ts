import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { shownName, withNameNote } from './entry-names';
import { PREVIEW_LIMITS, type PreviewLimits } from './limits';
import { chunksOf, type PositionalReader } from './positional-read';
import type { ArchiveEntry, Listing } from './preview.types';

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
