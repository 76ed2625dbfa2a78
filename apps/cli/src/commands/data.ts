import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { print, printJson, type Context } from '../context';
import { ApiError, CliError, EXIT } from '../errors';
import { bytes, table } from '../format';
import type { BundleVersion } from '../types';

/**
 * `menagerie data push <engine> <bundle> <dir>`: packs the directory as a
 * bundle (refusing links and special files, naming them, before anything is
 * sent), pushes it, and prints the version the engine has now. A version
 * the engine's check refuses exits 1, with the check's own words.
 */
export async function dataPush(ctx: Context, engine: string, bundle: string, dir: string): Promise<number> {
  // Loaded only here: the bundle rules (@menagerie/engines, zod and tar-stream with them) stay off every other command's start.
  const { BundleError, packBundle } = await import('@menagerie/engines');
  const packed = await packBundle(dir).catch((err: unknown) => {
    if (err instanceof BundleError) throw new CliError('BAD_DATA_BUNDLE', `${dir}: ${err.message}; nothing was sent`);
    throw err;
  });
  // Written out first, so that the request declares its length and an oversize one is refused before it is sent.
  const spool = await mkdtemp(join(tmpdir(), 'menagerie-push-'));
  try {
    const tar = join(spool, 'bundle.tar');
    await pipeline(packed.tar(), createWriteStream(tar, { mode: 0o600 }));
    let pushed;
    try {
      pushed = await ctx.client.pushBundle(engine, bundle, tar);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'DATA_BUNDLE_REFUSED')) throw err;
      refused(ctx, err);
      return EXIT.FAILED;
    }
    if (ctx.json) printJson(ctx, pushed);
    else
      print(ctx, [
        `${engine} ${bundle}: ${pushed.digest} (${pushed.files} files, ${bytes(pushed.size)}) ${pushed.changed ? 'is current now' : 'was current already; nothing changed'}`,
        ...(pushed.checkLog?.trim()
          ? pushed.checkLog
              .trim()
              .split('\n')
              .map((line) => `  check: ${line}`)
          : []),
      ]);
    return EXIT.OK;
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

/** A refused push: the check's message as it wrote it, every line (with --json, the API's answer on stdout too). */
function refused(ctx: Context, err: ApiError): void {
  if (ctx.json && err.body) printJson(ctx, err.body);
  const [first, ...rest] = err.message.split('\n');
  ctx.stderr.write(`menagerie: DATA_BUNDLE_REFUSED: ${first}\n${rest.map((line) => `  ${line}\n`).join('')}`);
}

/** `menagerie data list <engine>`: each bundle, its current version and the versions before it. */
export async function dataList(ctx: Context, engine: string): Promise<number> {
  const listed = await ctx.client.bundles(engine);
  if (ctx.json) {
    printJson(ctx, listed);
    return EXIT.OK;
  }
  const lines: string[] = [];
  if (!listed.bundles.length) lines.push(`engine ${engine} declares no data bundle`);
  const row = (v: BundleVersion) => [v.current ? '*' : ' ', v.digest, `${v.files} files`, bytes(v.size), v.pushedAt];
  for (const b of listed.bundles) {
    lines.push(`${b.bundle} (at ${b.target}): ${b.current ? b.current.digest : 'none pushed yet; jobs get an empty directory'}`);
    lines.push(...table(b.history.map(row)).map((line) => `  ${line}`));
  }
  print(ctx, lines);
  return EXIT.OK;
}
