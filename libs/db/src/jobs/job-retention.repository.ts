import { In, type DataSource, type Repository } from 'typeorm';
import { FINAL_STATUSES, type JobStatus } from '@menagerie/core';
import { JobEntity } from '../job.entity';

/** Bound parameters per query, well under PostgreSQL's limit. */
const STATUS_CHUNK = 1000;

/** What retention and the orphan sweep ask of the jobs table. */
export class JobRetentionRepository {
  private readonly repo: Repository<JobEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
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

  /** The status of each id that has a row (ids without one are absent), asked in chunks. */
  async statuses(ids: string[]): Promise<Map<string, JobStatus>> {
    const found = new Map<string, JobStatus>();
    for (let i = 0; i < ids.length; i += STATUS_CHUNK) {
      const rows = await this.repo.find({ select: { id: true, status: true }, where: { id: In(ids.slice(i, i + STATUS_CHUNK)) } });
      for (const r of rows) found.set(r.id, r.status);
    }
    return found;
  }
}
