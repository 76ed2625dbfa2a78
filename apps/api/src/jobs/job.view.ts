import { resultAvailability, type Verdict } from '@menagerie/core';
import type { JobEntity } from '@menagerie/db';
import type { Settings } from '@menagerie/config';

/** The JSON shape of a job, as /result, /jobs and the upload answer show it. */
export interface JobView {
  jobid: string;
  engine: string;
  status: string;
  /** `mime`: detected from the bytes; null for jobs from before it was. */
  input: { name: string; size: number; sha256: string; mime: string | null };
  image: string;
  imageDigest: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  error: string | null;
  logTail: string | null;
  result: { name: string; size: number; mime: string } | null;
  resultUrl: string | null;
  /** What the engine's report said (menagerie.report/1); null when it wrote none. `url` answers the whole report while the result is kept. */
  report: { summary: string; verdict: Verdict | null; reason: string | null; tags: Record<string, number>; url: string | null } | null;
  statusUrl: string;
  /** Its workflow in the Temporal Web UI; null for a cache hit served without one. */
  temporalUrl: string | null;
  /** Set once retention removed the job's files. */
  expiredAt: string | null;
  /** The worker node that ran it. */
  node: string | null;
  /** The data bundle versions it was given (bundle -> digest; null: none pushed yet); null for an engine without bundles. */
  data: Record<string, string | null> | null;
  /** Served from the cache: no container ran for it, and `cachedFrom` is the job whose result it serves. */
  cached: boolean;
  cachedFrom: string | null;
  /** While queued: the identical job it waits for (its result will be this one's). */
  waitingFor: string | null;
  /** Uploaded with force=true: run whatever the cache held. */
  forced: boolean;
  /** The submission it is part of (one upload, several engines). */
  submission: { id: string; url: string } | null;
  /** A retry: the job it ran again. */
  retryOf: string | null;
  /** The latest retry of this job. */
  retriedAs: string | null;
}

export function temporalUrl(settings: Settings, workflowId: string, runId: string | null): string {
  const base = `${settings.temporal.uiUrl}/namespaces/${encodeURIComponent(settings.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

export function toJobView(job: JobEntity, settings: Settings): JobView {
  const done = resultAvailability(job).available;
  return {
    jobid: job.id,
    engine: job.engine,
    status: job.status,
    input: { name: job.originalName, size: job.size, sha256: job.sha256, mime: job.inputMime },
    image: job.image,
    imageDigest: job.imageDigest,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    exitCode: job.exitCode,
    error: job.error,
    logTail: job.logTail,
    result: done ? { name: job.resultName!, size: job.resultSize ?? 0, mime: job.resultMime ?? 'application/octet-stream' } : null,
    resultUrl: done ? `${settings.api.publicUrl}/link/${job.id}` : null,
    report:
      job.status === 'completed' && job.report
        ? {
            summary: job.report.summary,
            verdict: job.report.verdict,
            reason: job.report.reason,
            tags: job.report.tagCounts,
            url: done ? `${settings.api.publicUrl}/report/${job.id}` : null,
          }
        : null,
    statusUrl: `${settings.api.publicUrl}/result/${job.id}`,
    // A hit answered at upload, or a follower completed from its leader, never had a workflow.
    temporalUrl:
      job.cachedFrom && job.runId === null && job.status === 'completed' ? null : temporalUrl(settings, job.workflowId, job.runId),
    expiredAt: job.expiredAt?.toISOString() ?? null,
    node: job.node,
    data: job.data,
    cached: job.status === 'completed' && job.cachedFrom !== null,
    cachedFrom: job.status === 'completed' ? job.cachedFrom : null,
    waitingFor: job.status === 'queued' ? job.cachedFrom : null,
    forced: job.forced,
    submission: job.submissionId ? { id: job.submissionId, url: `${settings.api.publicUrl}/submission/${job.submissionId}` } : null,
    retryOf: job.retryOf,
    retriedAs: job.retriedAs,
  };
}
