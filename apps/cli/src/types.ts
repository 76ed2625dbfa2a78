import { FINAL_STATUSES } from '@menagerie/core';

/**
 * The parts of the API's JSON answers that the CLI reads. The CLI talks HTTP
 * only and imports nothing of the API, so these restate the shapes of
 * apps/api's JobView and SubmissionView (the OpenAPI document at /docs-json
 * is their contract); --json passes the answers through whole. The job
 * statuses are @menagerie/core's, the list the API itself uses.
 */

export interface Job {
  jobid: string;
  engine: string;
  status: string;
  input: { name: string; size: number; sha256: string; mime: string | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  error: string | null;
  result: { name: string; size: number; mime: string } | null;
  resultUrl: string | null;
  statusUrl: string;
  cached: boolean;
  cachedFrom: string | null;
  waitingFor: string | null;
  submission: { id: string; url: string } | null;
  report?: { summary: string; verdict: string | null; reason: string | null; tags: Record<string, number>; url: string | null } | null;
  [more: string]: unknown;
}

/** The engine's report (menagerie.report/1; schemas/report.schema.json). */
export interface Report {
  schema: string;
  summary: string;
  verdict?: { value: string; reason: string };
  tags: Array<{ type: string; value: string }>;
  sections: Array<
    | { kind: 'kv'; title: string; fields: Array<[string, string]> }
    | { kind: 'table'; title: string; columns: string[]; rows: string[][] }
    | { kind: 'text'; title: string; text: string }
  >;
  children: Array<{ path: string; relation: string; name?: string }>;
}

export interface Submission {
  submissionId: string;
  /** running, completed, completed_with_failures or failed. */
  status: string;
  input: { name: string; size: number; sha256: string; mime: string };
  requested: string;
  jobs: Job[];
  summary: Record<string, number>;
  statusUrl: string;
  [more: string]: unknown;
}

export interface JobPage {
  items: Job[];
  total: number;
  totalExact: boolean;
  next: string | null;
  [more: string]: unknown;
}

export interface Engine {
  name: string;
  image: string;
  available: boolean;
  unavailableReason: string | null;
  workers: number;
  sizelimit: number;
  timeout: number;
  cacheTtl: number;
  accepts: string | null;
  rejects: string | null;
  jobs: { queued: number; running: number };
  [more: string]: unknown;
}

export function isFinal(status: string): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

/** A submission is over once none of its jobs is queued or running. */
export function submissionEnded(submission: Submission): boolean {
  return submission.status !== 'running';
}

/** A data bundle version, as GET /engines/<engine>/data and a push answer it. */
export interface BundleVersion {
  digest: string;
  size: number;
  files: number;
  pushedAt: string;
  checkLog: string | null;
  current: boolean;
}

/** The answer to a push: `changed` false when the version was current already. */
export interface BundlePush extends BundleVersion {
  engine: string;
  bundle: string;
  changed: boolean;
}

export interface EngineBundles {
  engine: string;
  datacheck: boolean;
  bundles: Array<{ bundle: string; target: string; current: BundleVersion | null; history: BundleVersion[] }>;
}
