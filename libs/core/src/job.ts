/** Every state a job can be in. The last four are final: a job never leaves them. */
export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'timed_out', 'cancelled'];
export type FinalStatus = 'completed' | 'failed' | 'timed_out' | 'cancelled';

export function isFinalStatus(status: JobStatus): status is FinalStatus {
  return FINAL_STATUSES.includes(status);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Job ids are random UUIDs: opaque, unguessable, and safe to use as a path segment. */
export function isJobId(value: string): boolean {
  return UUID.test(value);
}

/** The workflow id is derived from the job id, so either can be found from the other. */
export function workflowIdFor(jobId: string): string {
  return `job-${jobId}`;
}

/** Custom search attributes that let a person find a job in the Temporal Web UI. */
export const SEARCH_ATTRIBUTES = {
  engine: 'MenagerieEngine',
  sha256: 'MenagerieSha256',
} as const;

export const WORKFLOW_TYPE = 'engineJob';

/**
 * Each engine has two task queues. The one named after the engine carries the
 * workflows and the short activities (stage, store, finalize); containers run
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
