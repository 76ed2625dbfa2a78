import { print, printJson, warn, type Context } from '../context';
import { CliError, ConnectionError, describeError, EXIT, oneLine, UsageError } from '../errors';
import { collectInputs } from '../files';
import { submittedLines, type ErrorBody, type Submitted } from '../format';
import { resolveTarget } from '../options';
import { mapBounded } from '../pool';
import { progressFor, type Progress } from '../progress';
import type { Job } from '../types';
import { LONG_POLL_SECONDS, STATUS_LINE_POLL_SECONDS, untilJobEnds, untilSubmissionEnds } from '../wait';

export interface SubmitOptions {
  engine?: string;
  engines?: string;
  wait?: boolean;
  force?: boolean;
  concurrency: number;
}

/** Errors that every other file would meet too: the rest are not sent. */
const FATAL = new Set(['ENGINE_UNKNOWN', 'INVALID_ENGINES', 'UNAUTHORIZED']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const NOT_SENT = 'NOT_SENT';

function fatal(err: unknown): boolean {
  if (err instanceof ConnectionError) return UNREACHABLE.has(err.reason ?? '');
  return err instanceof CliError && FATAL.has(err.code);
}

/**
 * Uploads every file (directories walked, see collectInputs), at most
 * `concurrency` at once; prints each job (or submission) in the order the
 * files were named. With `wait`, follows every job to its end, as many at once.
 * Exit 1 if a file could not be submitted, or (with `wait`) a job did not complete.
 */
export async function submit(ctx: Context, paths: string[], options: SubmitOptions): Promise<number> {
  const target = resolveTarget(options.engine, options.engines);
  const { files, problems } = await collectInputs(paths);
  for (const p of problems) warn(ctx, `${p.path}: ${p.reason}`);
  if (!files.length) throw new UsageError(problems.length ? 'nothing to submit' : 'no regular file found to submit');
  const one = files.length === 1 && !problems.length;

  const progress = progressFor(files.length, ctx.stderr);
  let items: Submitted[];
  try {
    let stop: unknown = null;
    progress.begin('uploading', files.length);
    const uploads = await mapBounded(
      files,
      options.concurrency,
      async (file): Promise<Submitted> => {
        if (stop) throw new CliError(NOT_SENT, 'not sent after an earlier error');
        try {
          return { file, ...(await ctx.client.upload(file, target, options.force === true)) };
        } catch (err) {
          if (fatal(err)) stop ??= err;
          throw err;
        }
      },
      () => progress.step(),
    );
    progress.end();
    items = uploads.map((o, i) => (o.ok ? o.value : { file: files[i], error: errorBody(o.error) }));
    if (stop) {
      // Said once, not once per file.
      warn(ctx, describeError(stop));
    }
    for (const item of items) {
      if (!('error' in item) || item.error.error === NOT_SENT || (stop && item.error.error === (stop as CliError).code)) continue;
      warn(ctx, one ? `${item.error.error}: ${item.error.message}` : `${item.file}: ${item.error.error}: ${item.error.message}`);
    }
    if (options.wait) items = await waitForAll(ctx, items, options.concurrency, progress);
  } finally {
    progress.end();
  }

  if (ctx.json) printJson(ctx, items);
  else print(ctx, submittedLines(items));
  const code = summarise(ctx, items, files.length, options.wait === true, !one);
  return problems.length ? EXIT.FAILED : code;
}

async function waitForAll(ctx: Context, items: Submitted[], concurrency: number, progress: Progress): Promise<Submitted[]> {
  const poll = items.length === 1 ? STATUS_LINE_POLL_SECONDS : LONG_POLL_SECONDS;
  const ended = { completed: 0, other: 0 };
  const count = (jobs: Job[]) => {
    for (const j of jobs) ended[j.status === 'completed' ? 'completed' : 'other']++;
    progress.step(`ended: ${ended.completed} completed${ended.other ? `, ${ended.other} not` : ''}`);
  };
  const changed = (file: string) => (j: Job) => progress.line(`${file}: job ${j.jobid} (${j.engine}) ${j.status}`);
  progress.begin('waiting', items.filter((i) => !('error' in i)).length);
  const outcomes = await mapBounded(items, concurrency, async (item): Promise<Submitted> => {
    if ('job' in item) {
      const job = await untilJobEnds(ctx.client, item.job, poll, changed(item.file));
      count([job]);
      return { file: item.file, job };
    }
    if ('submission' in item) {
      progress.line(`${item.file}: submission ${item.submission.submissionId}`);
      const submission = await untilSubmissionEnds(ctx.client, item.submission, poll, changed(item.file));
      count(submission.jobs);
      return { file: item.file, submission };
    }
    return item;
  });
  progress.end();
  return outcomes.map((o, i) => {
    if (o.ok) return o.value;
    const error = errorBody(o.error);
    warn(ctx, `${items[i].file}: while waiting: ${error.error}: ${error.message}`);
    return { ...items[i], waitError: error };
  });
}

/** The summary line on stderr (for several files), and the exit code: 1 unless every file was submitted (and, waiting, every job completed). */
function summarise(ctx: Context, items: Submitted[], total: number, waited: boolean, show: boolean): number {
  const refused = items.filter((i) => 'error' in i).length;
  const jobs = items.flatMap((i) => ('job' in i ? [i.job] : 'submission' in i ? i.submission.jobs : []));
  const unfinished = items.filter((i) => 'waitError' in i && i.waitError).length;
  const byStatus = new Map<string, number>();
  for (const j of jobs) byStatus.set(j.status, (byStatus.get(j.status) ?? 0) + 1);
  const parts = [...byStatus].map(([status, n]) => `${n} ${status}`);
  if (refused) parts.push(`${refused} of ${total} files not submitted`);
  if (unfinished) parts.push(`${unfinished} not followed to the end`);
  if (show && parts.length) ctx.stderr.write(`${parts.join(', ')}\n`);
  const incomplete = waited && jobs.some((j) => j.status !== 'completed');
  return refused || unfinished || incomplete ? EXIT.FAILED : EXIT.OK;
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof CliError) return { error: err.code, message: oneLine(err.message) };
  return { error: 'ERROR', message: describeError(err) };
}
