import { Brackets, In, Not, type DataSource, type Repository } from 'typeorm';
import { FINAL_STATUSES, MenagerieError, type FinalizeJobInput, type JobSearch, type JobStatus } from '@menagerie/core';
import { JobEntity } from './job.entity';

const STATUS_CHUNK = 1000;

export interface NewJob {
  id: string;
  engine: string;
  originalName: string;
  size: number;
  sha256: string;
  image: string;
  workflowId: string;
}

export interface JobPage {
  items: JobEntity[];
  total: number;
  page: number;
  limit: number;
  pages: number;
}

/** `%`, `_` and `\\` match literally. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** PostgreSQL text can't hold NUL; engine output may contain anything. */
function textOrNull(value: string | null | undefined): string | null {
  return value == null ? null : value.replace(/\u0000/g, '\ufffd');
}

/** The only place that touches the jobs table. */
export class JobRepository {
  private readonly repo: Repository<JobEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
  }

  async create(job: NewJob): Promise<JobEntity> {
    return this.repo.save(this.repo.create({ ...job, status: 'queued', runId: null }));
  }

  async findById(id: string): Promise<JobEntity | null> {
    return this.repo.findOneBy({ id });
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

  async setRunId(id: string, runId: string): Promise<void> {
    await this.repo.update({ id }, { runId });
  }

  /** Moves a job to running unless it already reached a final status. */
  async markRunning(id: string, image: string, imageDigest: string | null, node: string | null = null): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'running', image, imageDigest, startedAt: () => 'COALESCE(started_at, now())', ...(node ? { node } : {}) })
      .where('id = :id AND status NOT IN (:...final)', { id, final: FINAL_STATUSES })
      .execute();
  }

  /**
   * Records the final status, once: the first write wins. A step replayed
   * after a worker crash (when the job directory is already gone) must not
   * overwrite how the job really ended.
   */
  async finalize(input: FinalizeJobInput): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({
        status: input.status,
        finishedAt: new Date(),
        exitCode: input.exitCode ?? null,
        error: textOrNull(input.error),
        logTail: textOrNull(input.logTail),
        resultName: input.result?.name ?? null,
        resultSize: input.result?.size ?? null,
        resultMime: input.result?.mime ?? null,
        // What ran and when, also when the best-effort "running" write never landed.
        imageDigest: () => 'COALESCE(:imageDigest, image_digest)',
        node: () => 'COALESCE(:node, node)',
        startedAt: () => 'COALESCE(started_at, CAST(:startedAt AS timestamptz))',
      })
      .where('id = :id AND status NOT IN (:...final)', { id: input.jobId, final: FINAL_STATUSES })
      .setParameters({ imageDigest: input.imageDigest ?? null, startedAt: input.startedAt ?? null, node: input.node ?? null })
      .execute();
  }

  /**
   * The history, newest first, filtered by engine, status and sha256, and
   * searched by `q`: a part of the file name (case-insensitive) or, when `q`
   * is hex, a prefix of the sha256. Ties on createdAt go by id, so pages are
   * stable and every caller sees the same order.
   */
  async search(search: JobSearch): Promise<JobPage> {
    const qb = this.repo.createQueryBuilder('job');
    if (search.engine) qb.andWhere('job.engine = :engine', { engine: search.engine });
    if (search.status) qb.andWhere('job.status = :status', { status: search.status });
    if (search.sha256) qb.andWhere('job.sha256 = :sha256', { sha256: search.sha256 });
    const q = search.q;
    if (q) {
      const name = `%${escapeLike(q)}%`;
      if (/^[0-9a-f]{1,64}$/i.test(q)) {
        qb.andWhere(
          new Brackets((w) => {
            w.where('job.originalName ILIKE :name', { name }).orWhere('job.sha256 LIKE :prefix', { prefix: `${q.toLowerCase()}%` });
          }),
        );
      } else {
        qb.andWhere('job.originalName ILIKE :name', { name });
      }
    }
    qb.orderBy('job.createdAt', 'DESC')
      .addOrderBy('job.id', 'DESC')
      .skip((search.page - 1) * search.limit)
      .take(search.limit);
    const [items, total] = await qb.getManyAndCount();
    return { items, total, page: search.page, limit: search.limit, pages: Math.ceil(total / search.limit) };
  }

  async countByStatus(engine: string, statuses: JobStatus[]): Promise<number> {
    return this.repo.countBy({ engine, status: In(statuses) });
  }

  /** Final jobs that finished before `before` and still have their files. */
  async findExpirable(before: Date, limit: number): Promise<string[]> {
    const rows = await this.repo
      .createQueryBuilder('job')
      .select('job.id', 'id')
      .where('job.expired_at IS NULL AND job.finished_at < :before AND job.status IN (:...final)', { before, final: FINAL_STATUSES })
      .orderBy('job.finished_at', 'ASC')
      .limit(limit)
      .getRawMany<{ id: string }>();
    return rows.map((r) => r.id);
  }

  async markExpired(id: string): Promise<void> {
    await this.repo.update({ id }, { expiredAt: new Date() });
  }

  /** Statuses of the given jobs; ids without a row are absent from the map. */
  /** The status of each id that has a row; asked in chunks, well under PostgreSQL's limit of bound parameters. */
  async statuses(ids: string[]): Promise<Map<string, JobStatus>> {
    const found = new Map<string, JobStatus>();
    for (let i = 0; i < ids.length; i += STATUS_CHUNK) {
      const rows = await this.repo.find({ select: { id: true, status: true }, where: { id: In(ids.slice(i, i + STATUS_CHUNK)) } });
      for (const r of rows) found.set(r.id, r.status);
    }
    return found;
  }

  async ping(): Promise<void> {
    await this.repo.query('SELECT 1');
  }
}
