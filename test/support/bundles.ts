import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { packBundle, unpackBundle } from '@menagerie/engines';
import { tempDir } from './temp-dir';

/** A directory holding `files` (path to text), as an operator would push it. */
export function bundleDir(files: Record<string, string>): string {
  const dir = tempDir('menagerie-bundle-src-', { until: 'file' });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Every byte of a stream (Node's or tar-stream's own). */
export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A bundle of `files` as the store keeps it: its canonical tar, and its digest. */
export async function bundleTar(files: Record<string, string>): Promise<{ tar: Buffer; digest: string }> {
  const tar = await collect((await packBundle(bundleDir(files))).tar());
  const { facts } = await unpackBundle(Readable.from([tar]), tempDir('menagerie-bundle-check-'));
  return { tar, digest: facts.digest };
}

/** POST /engines/<engine>/data/<bundle> with `tar` as the body (application/x-tar unless told). */
export function pushTar(baseUrl: string, engine: string, bundle: string, tar: Buffer, type = 'application/x-tar'): Promise<Response> {
  return fetch(`${baseUrl}/engines/${engine}/data/${bundle}`, { method: 'POST', headers: { 'content-type': type }, body: tar });
}

/** Pushes a directory of `files`, packed as the CLI packs it. */
export async function pushFiles(baseUrl: string, engine: string, bundle: string, files: Record<string, string>): Promise<Response> {
  return pushTar(baseUrl, engine, bundle, await collect((await packBundle(bundleDir(files))).tar()));
}
