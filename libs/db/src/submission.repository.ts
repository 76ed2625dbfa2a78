import { In, type DataSource, type Repository } from 'typeorm';
import { MenagerieError } from '@menagerie/core';
import type { JobEntity } from './job.entity';
import { insertJob, type NewJob } from './jobs/job-insert';
import { SubmissionEntity } from './submission.entity';

export interface NewSubmission {
  id: string;
  originalName: string;
  size: number;
  sha256: string;
  inputMime: string;
  /** "auto", or the engines as listed. */
  requested: string;
  forced: boolean;
}

export interface CreatedSubmission {
  submission: SubmissionEntity;
  jobs: JobEntity[];
}

const CHUNK = 1000;
/** SQLSTATE of a transaction PostgreSQL chose as a deadlock's victim. */
const DEADLOCK = '40P01';
const DEADLOCK_TRIES = 3;

/**
 * The order a submission's jobs are inserted in: by cache key. Each insert
 * may wait on an identical job another transaction has not committed yet (the
 * unique index of active leaders); two submissions of the same file taking
 * those waits in one order can't deadlock.
 */
function lockOrder(jobs: NewJob[]): NewJob[] {
  const key = (job: NewJob) => `${job.cacheKey ?? '~'}:${job.id}`; // hex keys sort before '~'
  return [...jobs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The only place that touches the submissions table. */
export class SubmissionRepository {
  private readonly repo: Repository<SubmissionEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(SubmissionEntity);
  }

  /**
   * The submission and all its jobs, in one transaction: every job row is the
   * usual outbox row (queued, started by the dispatcher) or a cache hit
   * recorded completed. A crash before the commit leaves no row at all; after
   * it, a whole submission the dispatcher starts. Nothing to compensate.
   */
  async create(submission: NewSubmission, jobs: NewJob[]): Promise<CreatedSubmission> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.createOnce(submission, jobs);
      } catch (err) {
        // Kept as a guard (lockOrder prevents the deadlocks known): the victim's transaction left nothing, so it runs again.
        if (attempt >= DEADLOCK_TRIES || (err as { code?: unknown }).code !== DEADLOCK) throw err;
      }
    }
  }

  private async createOnce(submission: NewSubmission, jobs: NewJob[]): Promise<CreatedSubmission> {
    return this.dataSource.transaction(async (tx) => {
      const [row]: Array<{ created_at: Date }> = await tx.query(
        `INSERT INTO submissions (id, original_name, size, sha256, input_mime, requested, forced) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`,
        [
          submission.id,
          submission.originalName,
          submission.size,
          submission.sha256,
          submission.inputMime,
          submission.requested,
          submission.forced,
        ],
      );
      const created = new Map<string, JobEntity>();
      for (const job of lockOrder(jobs)) created.set(job.id, await insertJob(tx, { ...job, submissionId: submission.id }));
      return {
        submission: tx.create(SubmissionEntity, { ...submission, createdAt: row.created_at, expiredAt: null }),
        jobs: jobs.map((job) => created.get(job.id)!),
      };
    });
  }

  async findById(id: string): Promise<SubmissionEntity | null> {
    return this.repo.findOneBy({ id });
  }

  /** The submission, or SUBMISSION_NOT_FOUND. */
  async get(id: string): Promise<SubmissionEntity> {
    const submission = await this.findById(id);
    if (!submission) throw new MenagerieError('SUBMISSION_NOT_FOUND', `no submission with id ${id}`);
    return submission;
  }

  /** Which of `ids` are submissions: their stored input is no abandoned upload, though no job row has their id. */
  async known(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.repo.find({ select: { id: true }, where: { id: In(ids.slice(i, i + CHUNK)) } });
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /**
   * Submissions whose shared input no job uses any more: not yet expired, and
   * every job of theirs expired (retention removed its files), oldest first.
   */
  async findExpirable(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.repo.query(
      `SELECT s.id FROM submissions s
       WHERE s.expired_at IS NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.submission_id = s.id AND j.expired_at IS NULL)
       ORDER BY s.created_at, s.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  async markExpired(id: string): Promise<void> {
    await this.repo.update({ id }, { expiredAt: new Date() });
  }
}
