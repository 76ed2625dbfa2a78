/** Positioned reads, as a FileHandle gives them (and blobReader, from ranged reads of the store). */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** A stored file opened for reading; the caller closes it. */
export interface OpenFile {
  handle: PositionalReader;
  size: number;
}

/** Up to `length` bytes from `position`: fewer only at the end of the file. */
export async function readAt(handle: PositionalReader, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buf, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buf.subarray(0, read);
}

/** The first `length` bytes of the file, in chunks, read one after the other. */
export async function* chunksOf(handle: PositionalReader, length: number, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  for (let position = 0; position < length;) {
    const bytes = await readAt(handle, position, Math.min(chunk, length - position));
    if (bytes.length === 0) return;
    position += bytes.length;
    yield bytes;
  }
}
