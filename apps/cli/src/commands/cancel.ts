import { print, printJson, type Context } from '../context';
import { EXIT } from '../errors';
import { jobDetails, submissionDetails } from '../format';

/** DELETE /jobs/<id>, or /submission/<id>: answered once it ended, or while it is still stopping. */
export async function cancel(ctx: Context, id: string): Promise<number> {
  const { stopping, ...found } = await ctx.client.cancel(id);
  if (ctx.json) printJson(ctx, 'job' in found ? found.job : found.submission);
  else {
    print(ctx, 'job' in found ? jobDetails(found.job) : submissionDetails(found.submission));
    if (stopping) ctx.stderr.write('still stopping: `menagerie status` shows when it has ended\n');
  }
  return EXIT.OK;
}
