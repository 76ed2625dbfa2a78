import { submissionStatus, type SubmissionStatus } from '@menagerie/core';
import type { JobEntity, SubmissionEntity } from '@menagerie/db';
import type { Settings } from '@menagerie/config';
import { toJobView, type JobView } from '../jobs/job.view';

export interface SubmissionSummary {
  total: number;
  queued: number;
  running: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  /** Completed from the cache: no container ran for them. */
  cached: number;
}

/** The JSON shape of a submission: one upload, one job per engine, one overall status. */
export interface SubmissionView {
  submissionId: string;
  status: SubmissionStatus;
  /** The file, stored once for every job of the submission; `mime` is detected from its bytes. */
  input: { name: string; size: number; sha256: string; mime: string };
  /** What was asked: "auto", or the engines as listed. */
  requested: string;
  forced: boolean;
  createdAt: string;
  /** Set once retention removed the shared input (every job of it had expired). */
  expiredAt: string | null;
  jobs: JobView[];
  summary: SubmissionSummary;
  statusUrl: string;
}

/**
 * The jobs in the order their engines were asked (for `auto`, the order of
 * engines.json): they are inserted in one transaction, so their createdAt is
 * one and the same.
 */
export function inAskedOrder(jobs: JobEntity[], requested: string, configured: string[]): JobEntity[] {
  const order = requested === 'auto' ? configured : requested.split(',');
  const rank = (engine: string) => {
    const i = order.indexOf(engine);
    return i === -1 ? order.length : i;
  };
  return [...jobs].sort((a, b) => rank(a.engine) - rank(b.engine) || a.engine.localeCompare(b.engine));
}

export function toSubmissionView(
  submission: SubmissionEntity,
  jobs: JobEntity[],
  settings: Settings,
  configured: string[],
): SubmissionView {
  const views = inAskedOrder(jobs, submission.requested, configured).map((job) => toJobView(job, settings));
  const summary: SubmissionSummary = {
    total: views.length,
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    timed_out: 0,
    cancelled: 0,
    cached: 0,
  };
  for (const job of jobs) summary[job.status]++;
  summary.cached = views.filter((v) => v.cached).length;
  return {
    submissionId: submission.id,
    status: submissionStatus(jobs.map((j) => j.status)),
    input: { name: submission.originalName, size: submission.size, sha256: submission.sha256, mime: submission.inputMime },
    requested: submission.requested,
    forced: submission.forced,
    createdAt: submission.createdAt.toISOString(),
    expiredAt: submission.expiredAt?.toISOString() ?? null,
    jobs: views,
    summary,
    statusUrl: `${settings.api.publicUrl}/submission/${submission.id}`,
  };
}
