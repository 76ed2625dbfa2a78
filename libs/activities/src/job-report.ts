import type { Context } from '@temporalio/activity';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { FAILURE_TYPES, type FailureDetails, type ReportDigest } from '@menagerie/core';
import { digestOf, distinctTags, parseReport, REPORT_LIMITS, ReportError, type Report } from '@menagerie/engines';
import type { RunDeps } from './deps';
import { fail } from './run-failures';
import { withStore } from './store-retry';

/** The report file an engine may write beside its result (menagerie.report/1). */
export const REPORT_FILE = 'report.json';

/**
 * The engine's report.json, parsed and checked against menagerie.report/1
 * and its bounds, each child it names a regular file inside the job directory;
 * null when the engine wrote none. A report that is not one fails the job
 * (BadReport) with what is wrong, before anything of the run is stored.
 */
export async function readReport(deps: RunDeps, jobId: string, facts: FailureDetails): Promise<Report | null> {
  const refuse = (message: string): never => fail(message, FAILURE_TYPES.badReport, facts);
  const opened = await deps.scratch.openOutput(jobId, REPORT_FILE, REPORT_LIMITS.bytes);
  if (opened === 'missing') return null;
  if (opened === 'not-a-regular-file')
    refuse(`engine's ${REPORT_FILE} is not a regular file (a symlink, directory or device); it was not followed`);
  if (opened === 'too-large') refuse(`engine's ${REPORT_FILE} is larger than the limit of ${REPORT_LIMITS.bytes} bytes`);
  const { stream } = opened as Exclude<typeof opened, string>;
  let report: Report;
  try {
    report = parseReport(await buffer(stream));
  } catch (err) {
    if (err instanceof ReportError) refuse(`engine wrote a bad ${REPORT_FILE}: ${err.message}`);
    throw err;
  }
  for (const [i, child] of report.children.entries()) {
    const file = await deps.scratch.openOutput(jobId, child.path, Number.MAX_SAFE_INTEGER);
    if (typeof file === 'string')
      refuse(
        `engine wrote a bad ${REPORT_FILE}: children.${i}.path: ${child.path} is ${file === 'missing' ? 'not in the job directory' : 'not a regular file (a symlink on the way, a directory or a device)'}`,
      );
    else await file.close();
  }
  return report;
}

/**
 * Keeps the report: the whole of it in the store, its distinct tags in the
 * job's tag index (replacing what an earlier attempt wrote). Answers what the
 * job's row keeps of it.
 */
export async function storeReport(deps: RunDeps, ctx: Context, jobId: string, report: Report): Promise<ReportDigest> {
  const bytes = Buffer.from(JSON.stringify(report));
  await withStore(deps.storeRetryMs, 'store the report', ctx, () => deps.blobs.put(jobId, 'report', Readable.from([bytes]), bytes.length));
  await deps.tags.replace(jobId, distinctTags(report));
  return digestOf(report);
}
