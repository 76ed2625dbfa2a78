/** Every state a job can be in. The last four are final: a job never leaves them. */
export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'timed_out', 'cancelled'];
export type FinalStatus = 'completed' | 'failed' | 'timed_out' | 'cancelled';

export function isFinalStatus(status: JobStatus): status is FinalStatus {
  return FINAL_STATUSES.includes(status);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Job ids are random UUIDs: opaque, unguessable, and safe to use as a path
 * segment. Only the canonical, lower-case spelling is one: the database
 * compares UUIDs without regard to case but the store's paths do not, so an
 * id from a request is canonicalised once, at the edge (`canonicalJobId`).
 */
export function isJobId(value: string): boolean {
  return UUID.test(value);
}

/** The workflow id is derived from the job id, so either can be found from the other. */
export function workflowIdFor(jobId: string): string {
  return `job-${jobId}`;
}

/**
 * The custom search attributes: a job's engine and input, set at its start,
 * let a person find it in the Temporal Web UI; the node it ran on is upserted
 * by the workflow, and so is the version a workflow runs at (see
 * workflow-versions.ts), which the workers' start-up check reads.
 */
export const SEARCH_ATTRIBUTES = {
  engine: 'MenagerieEngine',
  sha256: 'MenagerieSha256',
  node: 'MenagerieNode',
  workflowVersion: 'MenagerieWorkflowVersion',
} as const;

/** Each search attribute's type, spelt as Temporal's SDK (`SearchAttributeType`) spells it. */
export const SEARCH_ATTRIBUTE_TYPES = {
  engine: 'KEYWORD',
  sha256: 'KEYWORD',
  node: 'KEYWORD',
  workflowVersion: 'INT',
} as const satisfies Record<keyof typeof SEARCH_ATTRIBUTES, 'KEYWORD' | 'INT'>;

export const WORKFLOW_TYPE = 'engineJob';

/**
 * Each engine has two task queues. The one named after the engine carries the
 * workflows and the final status (recordJobStatus); containers run
 * from `<engine>.containers`, so `workers` bounds them exactly and a job that
 * is cancelled while queued never waits behind a running container to record
 * its status. Engine names can't contain ".", so the two can't collide.
 */
export function containerQueueFor(engine: string): string {
  return `${engine}.containers`;
}

/** The maintenance queue: the retention Schedule's workflow and activities. */
export const MAINTENANCE_QUEUE = 'menagerie.maintenance';
export const RETENTION_SCHEDULE_ID = 'menagerie-retention';
export const STALE_UPLOADS_SCHEDULE_ID = 'menagerie-stale-uploads';

/** What decides whether a job's result can be served. */
export interface ResultFacts {
  status: JobStatus;
  resultName: string | null;
  expiredAt: Date | null;
}

export type ResultAvailability = { available: true } | { available: false; code: 'RESULT_EXPIRED' | 'RESULT_NOT_READY'; reason: string };

/**
 * The one rule for "has a result to serve": completed, with a result, and not
 * yet removed by retention. When not, `reason` says why in words a person can act on.
 */
export function resultAvailability(job: ResultFacts): ResultAvailability {
  if (job.expiredAt) {
    return { available: false, code: 'RESULT_EXPIRED', reason: `the files were removed by retention on ${job.expiredAt.toISOString()}` };
  }
  if (job.status !== 'completed' || !job.resultName) {
    const reason = isFinalStatus(job.status) ? `the job ended ${job.status} without a result` : `the job is still ${job.status}`;
    return { available: false, code: 'RESULT_NOT_READY', reason };
  }
  return { available: true };
}

/**
 * Where a job's status may go from each status: the one table every status
 * write obeys (test/e2e/job-transitions.spec.ts tries each write from each
 * status; docs/architecture.md draws it). A final status is final; `queued`
 * goes straight to `completed` for a follower or a hit the worker finds.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'completed', 'failed', 'timed_out', 'cancelled'],
  running: ['running', 'completed', 'failed', 'timed_out', 'cancelled'],
  completed: [],
  failed: [],
  timed_out: [],
  cancelled: [],
};

/** The statuses a new row may start with: queued, or completed for a cache hit at upload. */
export const JOB_START_STATUSES: readonly JobStatus[] = ['queued', 'completed'];
