import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { MenagerieError, parseJobSearch, resultAvailability } from '@menagerie/core';
import { JobHistoryRepository, type JobPage, type JobRepository } from '@menagerie/db';
import type { BlobStore } from '@menagerie/storage';
import { BLOB_STORE, JOB_REPOSITORY } from '../common/tokens';
import { blobReader } from './blob-reader';
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
    private readonly history: JobHistoryRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  /** Like GET /jobs, with `q` matching a part of the file name or a sha256 prefix. */
  async search(query: Record<string, unknown>): Promise<JobPage> {
    return this.history.search(parseJobSearch(query, ['q', 'engine', 'status', 'tag']));
  }

  /** The engine's stored log, opened for reading; null while there is none (the job hasn't ended). */
  async openLog(id: string): Promise<StoredLog | null> {
    const job = await this.jobs.get(id);
    if (job.expiredAt) {
      throw new MenagerieError('RESULT_EXPIRED', `the files of job ${id} were removed by retention on ${job.expiredAt.toISOString()}`);
    }
    const log = await this.store.open(id, 'log');
    if (!log || log.size <= LOG_SERVE_LIMIT) return log && { ...log, length: log.size };
    // Only the first LOG_SERVE_LIMIT bytes are served.
    log.stream.destroy();
    const head = await this.store.open(id, 'log', { start: 0, end: LOG_SERVE_LIMIT - 1 });
    return head && { stream: head.stream, size: head.size, length: LOG_SERVE_LIMIT };
  }

  async preview(id: string): Promise<Preview> {
    const job = await this.jobs.get(id);
    const availability = resultAvailability(job);
    if (!availability.available) return { kind: 'none', reason: availability.reason };
    const file = await blobReader(this.store, id, 'result');
    if (!file) return { kind: 'none', reason: 'the result is no longer stored' };
    return previewFile(file);
  }
}
