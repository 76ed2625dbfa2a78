import { In, type DataSource, type Repository } from 'typeorm';
import { FINAL_STATUSES, MenagerieError, type FinalStatusRecord, type JobStatus } from '@menagerie/core';
import { JobEntity } from '../job.entity';
import { prepared } from '../prepared';
import { insertJob, type NewJob } from './job-insert';
import { entityColumns, oneJob, textOrNull } from './job-sql';

/** A job as the write of its final status ended it. */
export interface EndedJob {
  engine: string;
  createdAt: Date;
  /** When its container started; null when none did. */
  startedAt: Date | null;
}

/**
 * A job's row through its life: its insert, its reads by id, and its status
 * writes (running, then its final status, once). The outbox, the followers,
 * the history and retention have repositories of their own on the same table.
 */
export class JobRepository {
  private readonly repo: Repository<JobEntity>;
  private readonly columns: string;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
    this.columns = entityColumns(this.repo);
  }

  /**
   * One INSERT, one round trip (`save` would SELECT the id first and wrap the
   * INSERT in a transaction of its own). The row is the outbox: queued with no
   * run id, its workflow is started by the API's dispatcher (JobOutboxRepository).
   * A cache hit is recorded completed; an identical upload, as a follower.
   */
  async create(job: NewJob): Promise<JobEntity> {
    return insertJob(this.repo.manager, job);
  }

  /** Records a retry of `original` (a new job, queued: the outbox) and links the two, in one transaction. */
  async createRetry(original: string, job: NewJob): Promise<JobEntity> {
    return this.repo.manager.transaction(async (tx) => {
      const created = await insertJob(tx, { ...job, retryOf: original });
      await tx.query(`UPDATE jobs SET retried_as = $2 WHERE id = $1`, [original, job.id]);
      return created;
    });
  }

  async findById(id: string): Promise<JobEntity | null> {
    return oneJob(this.repo, `SELECT ${this.columns} FROM jobs WHERE id = $1`, [id]);
  }

  /** The job, or JOB_NOT_FOUND: what every reader of one job by id answers. */
  async get(id: string): Promise<JobEntity> {
    const job = await this.findById(id);
    if (!job) throw new MenagerieError('JOB_NOT_FOUND', `no job with id ${id}`);
    return job;
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  /**
   * The newest completed run (not a hit: a TTL counts from when the engine
   * really ran) with this cache key that finished after `since` and whose
   * files retention has not removed.
   */
  async findCached(cacheKey: string, since: Date): Promise<JobEntity | null> {
    return oneJob(
      this.repo,
      `SELECT ${this.columns} FROM jobs WHERE cache_key = $1 AND cached_from IS NULL AND status = 'completed' AND expired_at IS NULL
         AND finished_at > $2 AND result_name IS NOT NULL ORDER BY finished_at DESC LIMIT 1`,
      [cacheKey, since],
    );
  }

  /** Moves a job to running unless it already reached a final status. */
  async markRunning(id: string, image: string, imageDigest: string | null, node: string | null = null): Promise<void> {
    await prepared(
      this.repo.manager,
      `UPDATE jobs SET status = 'running', image = $2, image_digest = $3, started_at = COALESCE(started_at, now()), node = COALESCE($4, node)
       WHERE id = $1 AND status <> ALL($5::varchar[])`,
      [id, image, imageDigest, node, FINAL_STATUSES],
    );
  }

  /**
   * Records the final status, once: the first write wins. A step replayed
   * after a worker crash (when the job directory is already gone) must not
   * overwrite how the job really ended. Answers the job as this write ended
   * it, or null when it had ended already (so each end is counted once).
   */
  async recordFinalStatus(input: FinalStatusRecord): Promise<EndedJob | null> {
    const { rows } = await prepared<{ engine: string; created_at: Date; started_at: Date | null }>(
      this.repo.manager,
      `UPDATE jobs SET status = $2, finished_at = $15, exit_code = $3, error = $4, log_tail = $5, result_name = $6, result_size = $7, result_mime = $8,
         -- What ran and when, also when the best-effort "running" write never landed.
         image_digest = COALESCE($9, image_digest), node = COALESCE($10, node), started_at = COALESCE(started_at, $11::timestamptz),
         -- The key of what really ran (the worker's digest), and for a hit the worker found, whose result it serves.
         cache_key = COALESCE($12, cache_key), cached_from = COALESCE($13::uuid, cached_from), report = $16::jsonb
       WHERE id = $1 AND status <> ALL($14::varchar[])
       RETURNING engine, created_at, started_at`,
      [
        ...[input.jobId, input.status, input.exitCode ?? null, textOrNull(input.error), textOrNull(input.logTail)],
        ...[input.result?.name ?? null, input.result?.size ?? null, input.result?.mime ?? null],
        ...[
          input.imageDigest ?? null,
          input.node ?? null,
          input.startedAt ?? null,
          input.cacheKey ?? null,
          input.cachedFrom ?? null,
          FINAL_STATUSES,
        ],
        new Date(),
        input.result?.report ? JSON.stringify(input.result.report) : null,
      ],
    );
    const row = rows[0];
    return row ? { engine: row.engine, createdAt: row.created_at, startedAt: row.started_at } : null;
  }

  async countByStatus(engine: string, statuses: JobStatus[]): Promise<number> {
    return this.repo.countBy({ engine, status: In(statuses) });
  }

  async ping(): Promise<void> {
    await this.repo.query('SELECT 1');
  }
}
