import { print, printJson, type Context } from '../context';
import { EXIT } from '../errors';
import { engineLines, jobPageLines } from '../format';

export interface JobsOptions {
  engine?: string;
  status?: string;
  sha256?: string;
  tag?: string;
  limit?: number;
  cursor?: string;
}

/** GET /jobs: one page of the history, newest first; the API checks the filters. */
export async function jobs(ctx: Context, options: JobsOptions): Promise<number> {
  const page = await ctx.client.jobs({
    engine: options.engine,
    status: options.status,
    sha256: options.sha256,
    tag: options.tag,
    limit: options.limit,
    cursor: options.cursor,
  });
  if (ctx.json) printJson(ctx, page);
  else print(ctx, jobPageLines(page));
  return EXIT.OK;
}

/** GET /engines: each engine, whether a node serves it, and its queue. */
export async function engines(ctx: Context): Promise<number> {
  const list = await ctx.client.engines();
  if (ctx.json) printJson(ctx, { engines: list });
  else print(ctx, engineLines(list));
  return EXIT.OK;
}
