import { print, printJson, type Context } from '../context';
import { EXIT } from '../errors';
import { jobDetails, submissionDetails } from '../format';

/** A job (GET /result/<id>), or else the submission with that id. */
export async function status(ctx: Context, id: string): Promise<number> {
  const found = await ctx.client.jobOrSubmission(id);
  if (ctx.json) printJson(ctx, 'job' in found ? found.job : found.submission);
  else print(ctx, 'job' in found ? jobDetails(found.job) : submissionDetails(found.submission));
  return EXIT.OK;
}
