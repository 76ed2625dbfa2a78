import type { BlobKind, BlobStore } from '@menagerie/storage';
import type { OpenFile } from './result-preview';

/**
 * A stored blob for positioned reads, each one a ranged read of the store
 * (the preview lists a zip from its end, and reads an archive's headers),
 * whatever the store is. Null when there is none.
 */
export async function blobReader(blobs: BlobStore, jobId: string, kind: BlobKind): Promise<OpenFile | null> {
  // The size, from a one-byte read (an empty blob has no byte to range over: it is read whole).
  const probe = (await blobs.open(jobId, kind, { start: 0, end: 0 }).catch(() => null)) ?? (await blobs.open(jobId, kind));
  if (!probe) return null;
  probe.stream.destroy();
  const size = probe.size;
  return {
    size,
    handle: {
      async read(buffer, offset, length, position) {
        if (length <= 0 || position >= size) return { bytesRead: 0 };
        const end = Math.min(size, position + length) - 1;
        const part = await blobs.open(jobId, kind, { start: position, end });
        if (!part) return { bytesRead: 0 };
        let bytesRead = 0;
        for await (const chunk of part.stream) {
          const bytes = chunk as Buffer;
          const take = Math.min(bytes.length, length - bytesRead);
          bytes.copy(buffer, offset + bytesRead, 0, take);
          bytesRead += take;
          if (bytesRead >= length) break;
        }
        return { bytesRead };
      },
    },
  };
}
