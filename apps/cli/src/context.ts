import type { ApiClient } from './client';

/** What a command works with: the API, and where its output goes. */
export interface Context {
  client: ApiClient;
  /** Machine-readable output: one JSON document on stdout, nothing else there. */
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
}

export function print(ctx: Context, lines: string[]): void {
  if (lines.length) ctx.stdout.write(`${lines.join('\n')}\n`);
}

export function printJson(ctx: Context, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A line on stderr, prefixed like every error. */
export function warn(ctx: Context, line: string): void {
  ctx.stderr.write(`menagerie: ${line}\n`);
}
