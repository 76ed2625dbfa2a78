import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Every Menagerie metric, in one place: its name, help, labels and buckets.
 * Label values are always from small, fixed sets (engines, statuses, error
 * codes, route patterns): never a job id, a file name or a hash.
 */

/** Histogram buckets, in seconds. */
export const BUCKETS = {
  /** An API answer: most take milliseconds; a long ?wait or a download, seconds. */
  http: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  /** An upload, from its first byte to the answer: bounded by the file's size and the client's link. */
  upload: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  /** An engine's container, from create to exit: engines take from a second to an hour (timeout). */
  run: [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  /** A job's row created to its container started: near nothing on an idle node, minutes behind a backlog. */
  queueWait: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
} as const;

/** Where a cache lookup happened: at upload (the API, with the digest the nodes reported) or on the worker, before it runs anything. */
export type CacheLookupAt = 'upload' | 'worker';
export type CacheOutcome = 'hit' | 'miss';
/** How an upload ended: 201, or an error answer. */
export type UploadOutcome = 'accepted' | 'refused';
/** Which endpoint took the upload: POST /<engine>/upload or POST /submit. */
export type UploadEndpoint = 'upload' | 'submit';

type Labels<T extends string> = T[];
const labels = <T extends string>(...names: T[]): Labels<T> => names;

export function httpRequests(registry: Registry) {
  return new Counter({
    name: 'menagerie_http_requests_total',
    help: 'HTTP requests the API answered, by method, route pattern (as registered, e.g. /result/:id; "unmatched" for no route) and status ("aborted": the client left before the answer ended).',
    labelNames: labels('method', 'route', 'status'),
    registers: [registry],
  });
}

export function httpDuration(registry: Registry) {
  return new Histogram({
    name: 'menagerie_http_request_duration_seconds',
    help: "Time from a request's arrival to the end of its answer, by method and route pattern.",
    labelNames: labels('method', 'route'),
    buckets: [...BUCKETS.http],
    registers: [registry],
  });
}

export function uploadBytes(registry: Registry) {
  return new Counter({
    name: 'menagerie_upload_bytes_total',
    help: 'Bytes of the uploads this API accepted (answered 201), by endpoint (upload: POST /<engine>/upload; submit: POST /submit, stored once for all its engines).',
    labelNames: labels('endpoint'),
    registers: [registry],
  });
}

export function uploadDuration(registry: Registry) {
  return new Histogram({
    name: 'menagerie_upload_duration_seconds',
    help: 'Time an upload took, from the service taking the request to its answer, by endpoint and outcome (accepted or refused).',
    labelNames: labels('endpoint', 'outcome'),
    buckets: [...BUCKETS.upload],
    registers: [registry],
  });
}

export function uploadRefusals(registry: Registry) {
  return new Counter({
    name: 'menagerie_upload_refusals_total',
    help: 'Uploads refused, by endpoint and error code (the "error" of the JSON answer: UPLOAD_TOO_LARGE, ENGINE_UNKNOWN, ...; INTERNAL for an unexpected failure). A refusal before the upload service (UNAUTHORIZED, RATE_LIMITED) shows in menagerie_http_requests_total only.',
    labelNames: labels('endpoint', 'code'),
    registers: [registry],
  });
}

export function cacheLookups(registry: Registry) {
  return new Counter({
    name: 'menagerie_cache_lookups_total',
    help: 'Result cache lookups by engine, where (upload: the API, once the key is known from the digest the nodes reported; worker: the re-check before a run, with the digest it resolved) and outcome (hit or miss). A job that misses at upload may hit on the worker; forced uploads and engines with cachettl 0 look nothing up.',
    labelNames: labels('engine', 'at', 'outcome'),
    registers: [registry],
  });
}

export function jobsEnded(registry: Registry) {
  return new Counter({
    name: 'menagerie_jobs_ended_total',
    help: "Jobs that reached a final status, by engine and status, each counted once, by the process that wrote the status: an API counts the cache hits it recorded at upload, the followers it completed from their identical job and the jobs cancelled before they started; a worker counts the statuses it recorded (only the first final write changes a row, and only that one is counted). sum() over every API and worker target is the deployment's total.",
    labelNames: labels('engine', 'status'),
    registers: [registry],
  });
}

export function jobsQueued(registry: Registry, collect: (g: Gauge<'engine'>) => Promise<void>) {
  return new Gauge({
    name: 'menagerie_jobs_queued',
    help: "Jobs queued now, by engine: the whole deployment's, read from the database at scrape time, so every API replica reports the same value (use max(), not sum()).",
    labelNames: labels('engine'),
    registers: [registry],
    collect() {
      return collect(this);
    },
  });
}

export function jobsRunning(registry: Registry, collect: (g: Gauge<'engine'>) => Promise<void>) {
  return new Gauge({
    name: 'menagerie_jobs_running',
    help: "Jobs running now, by engine: the whole deployment's, read from the database at scrape time (use max(), not sum()).",
    labelNames: labels('engine'),
    registers: [registry],
    collect() {
      return collect(this);
    },
  });
}

export function runDuration(registry: Registry) {
  return new Histogram({
    name: 'menagerie_job_run_duration_seconds',
    help: "Time an engine's container took on this node, from its creation to its exit (or kill), whatever the outcome, by engine; one observation per run (a retried job runs again). Cache hits run nothing and are not observed.",
    labelNames: labels('engine'),
    buckets: [...BUCKETS.run],
    registers: [registry],
  });
}

export function queueWait(registry: Registry) {
  return new Histogram({
    name: 'menagerie_job_queue_wait_seconds',
    help: "Time from a job's upload (its row created) to its container started, by engine; observed by the worker that records the final status of a job whose container started, once per job.",
    labelNames: labels('engine'),
    buckets: [...BUCKETS.queueWait],
    registers: [registry],
  });
}

export function runningContainers(registry: Registry, collect: (g: Gauge<'node'>) => void) {
  return new Gauge({
    name: 'menagerie_node_running_containers',
    help: 'Engine runs (containers) this worker node has under way now, by node name.',
    labelNames: labels('node'),
    registers: [registry],
    collect() {
      collect(this);
    },
  });
}

export function scratchBytes(registry: Registry, collect: (g: Gauge<'node'>) => Promise<void>) {
  return new Gauge({
    name: 'menagerie_node_scratch_bytes',
    help: 'Bytes the job directories of this worker node use now (its scratch root), by node name; measured at scrape time.',
    labelNames: labels('node'),
    registers: [registry],
    collect() {
      return collect(this);
    },
  });
}

export function webhookDeliveries(registry: Registry) {
  return new Counter({
    name: 'menagerie_webhook_deliveries_total',
    help: "Webhook deliveries by outcome, counted by the worker that ran them: each attempt answered 2xx (delivered) or not (failed: another status, a timeout, a network error, a refused address; retried with backoff unless it can't succeed), and each delivery given up (given_up: its deadline passed, or no retry could mend it).",
    labelNames: labels('outcome'),
    registers: [registry],
  });
}

export type WebhookOutcome = 'delivered' | 'failed' | 'given_up';
