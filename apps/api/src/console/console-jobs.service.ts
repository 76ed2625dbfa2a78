import { Inject, Injectable } from '@nestjs/common';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Brackets, type DataSource } from 'typeorm';
import { assertJobId, isFinalStatus, JOB_STATUSES, type JobStatus, MenagerieError } from '@menagerie/core';
import { JobEntity } from '@menagerie/db';
import type { JobStore } from '@menagerie/storage';
import { DATA_SOURCE, JOB_STORE } from '../common/tokens';
import { previewFile, type Preview } from './result-preview';

export interface SearchQuery {
  q?: string;
  engine?: string;
  status?: string;
  page?: string;
  limit?: string;
}

export interface SearchPage {
  items: JobEntity[];
  total: number;
  page: number;
  limit: number;
  pages: number;
}

export interface StoredLog {
  handle: FileHandle;
  /** Size of the stored log. */
  size: number;
  /** Bytes served: the first `LOG_SERVE_LIMIT` at most. */
  length: number;
}

const MAX_LIMIT = 100;
const MAX_QUERY_LENGTH = 255;
/** The stored log is already capped by logLimitBytes; this bounds what one request serves whatever that is. */
export const LOG_SERVE_LIMIT = 8 * 1024 * 1024;

/** `%`, `_` and `\` match literally. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The console's reads of jobs: search by name or sha256 prefix, the stored log, the result preview. */
@Injectable()
export class ConsoleJobsService {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(JOB_STORE) private readonly store: JobStore,
  ) {}

  async get(id: string): Promise<JobEntity> {
    assertJobId(id);
    const job = await this.dataSource.getRepository(JobEntity).findOneBy({ id });
    if (!job) throw new MenagerieError('JOB_NOT_FOUND', `no job with id ${id}`);
    return job;
  }

  /**
   * The history, newest first, filtered by engine and status and searched by
   * `q`: a part of the original file name (case-insensitive) or, when `q` is
   * hex, a prefix of the sha256.
   */
  async search(query: SearchQuery): Promise<SearchPage> {
    const page = query.page === undefined || query.page === '' ? 1 : Number(query.page);
    const limit = query.limit === undefined || query.limit === '' ? 20 : Number(query.limit);
    if (!Number.isInteger(page) || page < 1) throw new MenagerieError('INVALID_QUERY', 'page must be a whole number from 1');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new MenagerieError('INVALID_QUERY', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    for (const key of ['q', 'engine', 'status'] as const) {
      if (query[key] !== undefined && typeof query[key] !== 'string') throw new MenagerieError('INVALID_QUERY', `give ${key} once`);
    }
    const status = query.status || undefined;
    if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
      throw new MenagerieError('INVALID_QUERY', `status must be one of ${JOB_STATUSES.join(', ')}`);
    }
    const q = (query.q ?? '').trim();
    if (q.length > MAX_QUERY_LENGTH) throw new MenagerieError('INVALID_QUERY', `q must be at most ${MAX_QUERY_LENGTH} characters`);

    const qb = this.dataSource.getRepository(JobEntity).createQueryBuilder('job');
    if (query.engine) qb.andWhere('job.engine = :engine', { engine: query.engine });
    if (status) qb.andWhere('job.status = :status', { status });
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
      .skip((page - 1) * limit)
      .take(limit);
    const [items, total] = await qb.getManyAndCount();
    return { items, total, page, limit, pages: Math.ceil(total / limit) };
  }

  /** The engine's stored log, opened for reading; null while there is none (the job hasn't ended). */
  async openLog(id: string): Promise<StoredLog | null> {
    const job = await this.get(id);
    if (job.expiredAt) {
      throw new MenagerieError('RESULT_EXPIRED', `the files of job ${id} were removed by retention on ${job.expiredAt.toISOString()}`);
    }
    let handle: FileHandle;
    try {
      handle = await open(this.store.logPath(id), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const info = await handle.stat();
    return { handle, size: info.size, length: Math.min(info.size, LOG_SERVE_LIMIT) };
  }

  async preview(id: string): Promise<Preview> {
    const job = await this.get(id);
    if (job.expiredAt) return { kind: 'none', reason: `the result was removed by retention on ${job.expiredAt.toISOString()}` };
    if (job.status !== 'completed' || !job.resultName) {
      return { kind: 'none', reason: isFinalStatus(job.status) ? `the job ended ${job.status} without a result` : `the job is still ${job.status}` };
    }
    try {
      return await previewFile(this.store.resultPath(id));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { kind: 'none', reason: 'the result is no longer stored' };
      if (code === 'ELOOP') return { kind: 'none', reason: 'the stored result is not a regular file' };
      throw err;
    }
  }
}
