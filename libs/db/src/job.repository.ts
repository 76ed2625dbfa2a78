import { In, type DataSource, type FindOptionsWhere, type Repository } from 'typeorm';
import { FINAL_STATUSES, type FinalizeJobInput, type JobStatus } from '@menagerie/core';
import { JobEntity } from './job.entity';

export interface NewJob {
  id: string;
  engine: string;
  originalName: string;
  size: number;
  sha256: string;
  image: string;
  workflowId: string;
}

export interface JobQuery {
  engine?: string;
  status?: JobStatus;
  sha256?: string;
  limit: number;
  offset: number;
}

export interface JobPage {
  items: JobEntity[];
  total: number;
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

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  async setRunId(id: string, runId: string): Promise<void> {
    await this.repo.update({ id }, { runId });
  }

  /** Moves a job to running unless it already reached a final status. */
  async markRunning(id: string, image: string, imageDigest: string | null): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'running', image, imageDigest, startedAt: () => 'COALESCE(started_at, now())' })
      .where('id = :id AND status NOT IN (:...final)', { id, final: FINAL_STATUSES })
      .execute();
  }

  /** Records the final status. Idempotent: a retried activity writes the same row again. */
  async finalize(input: FinalizeJobInput): Promise<void> {
    await this.repo.update(
      { id: input.jobId },
      {
        status: input.status,
        finishedAt: new Date(),
        exitCode: input.exitCode ?? null,
        error: input.error ?? null,
        logTail: input.logTail ?? null,
        resultName: input.result?.name ?? null,
        resultSize: input.result?.size ?? null,
        resultMime: input.result?.mime ?? null,
      },
    );
  }

  async list(query: JobQuery): Promise<JobPage> {
    const where: FindOptionsWhere<JobEntity> = {};
    if (query.engine) where.engine = query.engine;
    if (query.status) where.status = query.status;
    if (query.sha256) where.sha256 = query.sha256;
    const [items, total] = await this.repo.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      take: query.limit,
      skip: query.offset,
    });
    return { items, total };
  }

  async countByStatus(engine: string, statuses: JobStatus[]): Promise<number> {
    return this.repo.countBy({ engine, status: In(statuses) });
  }

  async ping(): Promise<void> {
    await this.repo.query('SELECT 1');
  }
}
