import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { printJson, type Context } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { filenameFrom } from '../download';

export interface FetchOptions {
  output?: string;
  force?: boolean;
}

/**
 * GET /link/<id>, streamed: to `-o FILE`, to stdout with `-o -`, else to the
 * name the API gives in Content-Disposition, in the current directory, which
 * an existing file keeps unless --force. A download cut short leaves no file.
 */
export async function fetchResult(ctx: Context, id: string, options: FetchOptions): Promise<number> {
  const toStdout = options.output === '-';
  if (toStdout && ctx.json) throw new UsageError('-o - writes the result itself to stdout; it cannot go with --json');
  const res = await ctx.client.result(id);
  if (!res.body) throw new CliError('BAD_ANSWER', `GET /link/${id}: the answer has no body`);
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  if (toStdout) {
    // Not pipeline(): stdout is not the CLI's to end.
    for await (const chunk of body) if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
    return EXIT.OK;
  }
  const path = options.output ?? filenameFrom(res.headers.get('content-disposition'));
  if (!path) {
    await res.body.cancel();
    throw new CliError('NO_FILE_NAME', `the API named no file for job ${id}; give one with -o FILE`);
  }
  // Named by the server: never over a file that is there, unless asked. Named by the user: as told.
  const exclusive = options.output === undefined && !options.force;
  // Never through a symbolic link (O_NOFOLLOW; O_EXCL never follows one either): a link planted where the file goes is refused.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : constants.O_TRUNC);
  let handle: FileHandle;
  try {
    handle = await open(path, flags, 0o644);
  } catch (err) {
    body.destroy();
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST')
      throw new CliError('FILE_EXISTS', `${path} exists; remove it, name another with -o FILE, or overwrite it with --force`);
    if (code === 'ELOOP')
      throw new CliError(
        'FILE_IS_LINK',
        `${path} is a symbolic link, which the CLI never writes through; remove it, or name another file with -o FILE`,
      );
    throw new CliError(code ?? 'WRITE_FAILED', `cannot write ${path}: ${(err as Error).message}`);
  }
  let bytes = 0;
  body.on('data', (chunk: Buffer) => (bytes += chunk.length));
  try {
    await pipeline(body, handle.createWriteStream());
  } catch (err) {
    // Only a file this command created or truncated is removed.
    await rm(path, { force: true });
    throw new CliError('DOWNLOAD_FAILED', `job ${id}: the download stopped after ${bytes} bytes: ${(err as Error).message}`);
  }
  if (ctx.json) printJson(ctx, { jobid: id, file: path, bytes });
  else ctx.stderr.write(`saved ${path} (${bytes} bytes)\n`);
  return EXIT.OK;
}
