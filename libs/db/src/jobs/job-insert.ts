import type { EntityManager } from 'typeorm';
import { admit } from '@menagerie/core';
import { JobEntity } from '../job.entity';
import { prepared } from '../prepared';
import { ACTIVE_LEADER, JOB_COLUMNS, RESULT_COLUMNS, resultValues, UPLOAD_COLUMNS } from './job-sql';

export interface NewJob {
  id: string;
  engine: string;
  originalName: string;
  size: number;
  sha256: string;
  image: string;
  workflowId: string;
  /** The type detected from the input's bytes. */
  inputMime?: string | null;
  /** Uploaded with force=true. */
  forced?: boolean;
  /**
   * The cache key, when the upload could compute it: a job with one that is
   * identical to a queued or running job becomes that job's follower
   * (`cachedFrom`) instead of running too.
   */
  cacheKey?: string | null;
  /** A cache hit: the completed job whose result it serves (its blobs already shared to `id`). */
  hit?: JobEntity | null;
  submissionId?: string | null;
  /** Whose stored input the job reads (a submission's); absent: its own. */
  inputFrom?: string | null;
  /** A retry: the job it runs again. */
  retryOf?: string | null;
  /** The data bundle versions it is given (bundle -> digest, null: none pushed yet); absent for an engine without bundles. */
  data?: Record<string, string | null> | null;
}

/** How many columns UPLOAD_COLUMNS names (id, engine and status come first: $1, $2 and a literal). */
const UPLOAD_COLUMN_COUNT = UPLOAD_COLUMNS.split(',').length;

/** `$from, ..., $(from + count - 1)`. */
function placeholders(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}

/** The values of UPLOAD_COLUMNS but the status. */
function uploadValues(job: NewJob): unknown[] {
  return [
    ...[job.id, job.engine, job.originalName, job.size, job.sha256, job.image, job.workflowId, job.inputMime ?? null, job.forced ?? false],
    ...[job.submissionId ?? null, job.inputFrom ?? null, job.retryOf ?? null, job.data ? JSON.stringify(job.data) : null],
  ];
}

/** The values of JOB_COLUMNS but the status. */
function valuesOf(job: NewJob, cacheKey: string | null): unknown[] {
  return [...uploadValues(job), cacheKey];
}

/** The entity of a row just inserted, as the INSERT wrote it. */
function inserted(manager: EntityManager, job: NewJob, created: Date, over: Partial<JobEntity>): JobEntity {
  return manager.create(JobEntity, {
    ...job,
    status: 'queued',
    inputMime: job.inputMime ?? null,
    forced: job.forced ?? false,
    submissionId: job.submissionId ?? null,
    inputFrom: job.inputFrom ?? null,
    retryOf: job.retryOf ?? null,
    data: job.data ?? null,
    retriedAs: null,
    cacheKey: job.cacheKey ?? null,
    cachedFrom: null,
    runId: null,
    createdAt: created,
    ...{ imageDigest: null, startedAt: null, finishedAt: null, exitCode: null, error: null, logTail: null },
    ...{ resultName: null, resultSize: null, resultMime: null, report: null, node: null, expiredAt: null },
    ...over,
  });
}

/** The result columns an entity gets from the job whose result it serves. */
export function servedFrom(source: JobEntity, at: Date): Partial<JobEntity> {
  return {
    status: 'completed',
    cacheKey: source.cacheKey,
    cachedFrom: source.id,
    imageDigest: source.imageDigest,
    startedAt: at,
    finishedAt: at,
    exitCode: source.exitCode,
    logTail: source.logTail,
    resultName: source.resultName,
    resultSize: source.resultSize,
    resultMime: source.resultMime,
    report: source.report,
  };
}

/**
 * Records a new job, in `manager`'s transaction when it has one: a cache
 * hit as completed, at once; otherwise queued (the outbox), leading or
 * following an identical queued or running job (the admission rule, `admit`
 * in @menagerie/core). One INSERT in the common case.
 */
export async function insertJob(manager: EntityManager, job: NewJob): Promise<JobEntity> {
  const hit = job.hit;
  if (hit) {
    // The hit's own columns, then the result it serves (RESULT_COLUMNS; its cache_key in place of the upload's).
    const { rows } = await prepared<{ created_at: Date; finished_at: Date }>(
      manager,
      `INSERT INTO jobs (${UPLOAD_COLUMNS}, ${RESULT_COLUMNS.join(', ')}, cached_from, started_at, finished_at)
       VALUES ($1, $2, 'completed', ${placeholders(3, UPLOAD_COLUMN_COUNT - 3 + RESULT_COLUMNS.length + 1)}, now(), now())
       RETURNING created_at, finished_at`,
      [...uploadValues(job), ...resultValues(hit), hit.id],
    );
    return inserted(manager, job, rows[0].created_at, servedFrom(hit, rows[0].finished_at));
  }
  // $1, $2, the status, then the rest of the upload's columns and the cache key last.
  const values = `$1, $2, 'queued', ${placeholders(3, UPLOAD_COLUMN_COUNT - 2)}`;
  const keyParam = `$${UPLOAD_COLUMN_COUNT}`;
  const insert = `INSERT INTO jobs (${JOB_COLUMNS}) VALUES (${values})`;
  const alone = async () => {
    const { rows } = await prepared<{ created_at: Date }>(manager, `${insert} RETURNING created_at`, valuesOf(job, null));
    return inserted(manager, job, rows[0].created_at, { cacheKey: null });
  };
  if (!job.cacheKey) return alone();
  return admit({
    // The unique index decides, also against an insert not yet committed.
    lead: async () => {
      const { rows } = await prepared<{ created_at: Date }>(
        manager,
        `${insert} ON CONFLICT (cache_key) WHERE ${ACTIVE_LEADER} DO NOTHING RETURNING created_at`,
        valuesOf(job, job.cacheKey ?? null),
      );
      return rows.length ? inserted(manager, job, rows[0].created_at, {}) : null;
    },
    follow: async () => {
      const { rows } = await prepared<{ created_at: Date; cached_from: string }>(
        manager,
        `INSERT INTO jobs (${JOB_COLUMNS}, cached_from)
         SELECT ${values}, leader.id FROM jobs leader
         WHERE leader.cache_key = ${keyParam} AND leader.cached_from IS NULL AND leader.status IN ('queued', 'running') LIMIT 1
         RETURNING created_at, cached_from`,
        valuesOf(job, job.cacheKey ?? null),
      );
      return rows.length ? inserted(manager, job, rows[0].created_at, { cachedFrom: rows[0].cached_from }) : null;
    },
    alone,
  });
}
