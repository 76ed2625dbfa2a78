import type { Repository } from 'typeorm';
import type { JobEntity } from '../job.entity';
import { hydrate, prepared } from '../prepared';

/** A job that leads: it has a cache key, follows no one, and has not ended. (The unique index jobs_active_leader_idx is on this.) */
export const ACTIVE_LEADER = `cache_key IS NOT NULL AND cached_from IS NULL AND status IN ('queued', 'running')`;

/** The columns every insert writes from the upload, in the order of `uploadValues` (job-insert.ts), status given as a literal. */
export const UPLOAD_COLUMNS = `id, engine, status, original_name, size, sha256, image, workflow_id, input_mime, forced, submission_id, input_from, retry_of, data`;
/** UPLOAD_COLUMNS and the cache key: what a queued job's insert writes. */
export const JOB_COLUMNS = `${UPLOAD_COLUMNS}, cache_key`;

/**
 * Every column the entity maps, named: a prepared `SELECT *` would fail
 * (SQLSTATE 0A000) on every pooled connection once a migration adds a
 * column to the live table.
 */
export function entityColumns(repo: Repository<JobEntity>): string {
  return repo.metadata.columns.map((c) => `"${c.databaseName}"`).join(', ');
}

/** The job of a SELECT of the entity's columns that answers at most one row, hydrated as TypeORM would (see prepared). */
export async function oneJob(repo: Repository<JobEntity>, text: string, values: unknown[]): Promise<JobEntity | null> {
  const { rows } = await prepared<Record<string, unknown>>(repo.manager, text, values);
  return rows.length ? hydrate<JobEntity>(repo.manager, repo.metadata, rows[0]) : null;
}

/** PostgreSQL text can't hold NUL; engine output may contain anything. */
export function textOrNull(value: string | null | undefined): string | null {
  return value == null ? null : value.replace(/\u0000/g, '\ufffd');
}

/**
 * The result columns of a job that serves `source`'s result (a cache hit, a
 * follower whose leader completed), as SQL parameters in the order of
 * RESULT_COLUMNS: the one place a result is copied from one row to another.
 */
export const RESULT_COLUMNS = [
  'cache_key',
  'image_digest',
  'exit_code',
  'log_tail',
  'result_name',
  'result_size',
  'result_mime',
  'report',
] as const;

export function resultValues(source: JobEntity): unknown[] {
  return [
    source.cacheKey,
    source.imageDigest,
    source.exitCode,
    textOrNull(source.logTail),
    source.resultName,
    source.resultSize,
    source.resultMime,
    source.report,
  ];
}
