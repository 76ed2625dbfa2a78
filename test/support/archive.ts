import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';

/** Reads a .tar.gz into a map of entry name (without a leading ./) to contents. */
export async function readTarGz(bytes: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') entries.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([bytes]).pipe(createGunzip()).pipe(ex);
  await done;
  return entries;
}

/** A tar of `files` (name to contents), under a docs/ directory entry. */
export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  p.entry({ name: 'docs/', type: 'directory' });
  for (const [name, content] of Object.entries(files)) p.entry({ name, size: Buffer.byteLength(content) }, content);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
