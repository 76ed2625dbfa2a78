import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { MenagerieError, parseJobSearch, resultAvailability } from '@menagerie/core';
import type { JobPage, JobRepository } from '@menagerie/db';
import type { JobStore } from '@menagerie/storage';
import { JOB_REPOSITORY, JOB_STORE } from '../common/tokens';
import { previewFile, type Preview } from './result-preview';

export interface StoredLog {
  stream: Readable;
  /** Size of the stored log. */
  size: number;
  /** Bytes served: the first `LOG_SERVE_LIMIT` at most. */
  length: number;
}

/** The stored log is already capped by logLimitBytes; this bounds what one request serves whatever that is. */
export const LOG_SERVE_LIMIT = 8 * 1024 * 1024;

/**
 * The console's reads of jobs: search by name or sha256 prefix, the stored
 * log, the result preview. Ids arrive canonical (JobIdPipe).
 */
@Injectable()
export class ConsoleJobsService {
  constructor(
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    @Inject(JOB_STORE) private readonly store: JobStore,
  ) {}

  /** Like GET /jobs, with `q` matching a part of the file name or a sha256 prefix. */
  async search(query: Record<string, unknown>): Promise<JobPage> {
    return this.jobs.search(parseJobSearch(query, ['q', 'engine', 'status']));
  }

  /** The engine's stored log, opened for reading; null while there is none (the job hasn't ended). */
  async openLog(id: string): Promise<StoredLog | null> {
    const job = await this.jobs.get(id);
    if (job.expiredAt) {
      throw new MenagerieError('RESULT_EXPIRED', `the files of job ${id} were removed by retention on ${job.expiredAt.toISOString()}`);
    }
    return this.store.openLog(id, LOG_SERVE_LIMIT);
  }

  async preview(id: string): Promise<Preview> {
    const job = await this.jobs.get(id);
    const availability = resultAvailability(job);
    if (!availability.available) return { kind: 'none', reason: availability.reason };
    const file = await this.store.openResultFile(id);
    if (!file) return { kind: 'none', reason: 'the result is no longer stored as a regular file' };
    try {
      return await previewFile(file);
    } finally {
      await file.handle.close();
    }
  }
}
