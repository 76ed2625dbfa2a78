import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { assertJobId, isFinalStatus, JOB_STATUSES, type JobStatus, MenagerieError } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import type { JobEntity, JobRepository } from '@menagerie/db';
import type { JobStore } from '@menagerie/storage';
import { CONFIG, JOB_REPOSITORY, JOB_STORE } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';

export interface ListQuery {
  engine?: string;
  status?: string;
  sha256?: string;
  page?: string;
  limit?: string;
}

export interface ResultFile {
  stream: Readable;
  size: number;
  name: string;
  mime: string;
}

const MAX_LIMIT = 100;
const MAX_WAIT_SECONDS = 60;
/** Requests blocked on ?wait at once; each holds one long poll to Temporal. */
const MAX_WAITERS = 1000;

@Injectable()
export class JobService {
  private waiting = 0;

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    @Inject(JOB_STORE) private readonly store: JobStore,
    private readonly temporal: TemporalService,
  ) {}

  async get(id: string): Promise<JobEntity> {
    assertJobId(id);
    const job = await this.jobs.findById(id);
    if (!job) throw new MenagerieError('JOB_NOT_FOUND', `no job with id ${id}`);
    return job;
  }

  /**
   * The job, once it has ended or `wait` (seconds, as given in the query) has
   * passed: a client blocks on one request instead of polling.
   */
  async getWhenDone(id: string, wait: string | undefined, gone: AbortSignal): Promise<JobEntity> {
    const seconds = wait === undefined ? 0 : Number(wait);
    if (!/^\d+$/.test(wait ?? '0') || seconds > MAX_WAIT_SECONDS) {
      throw new MenagerieError('INVALID_QUERY', `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
    }
    let job = await this.get(id);
    // Past the cap, a waiter gets the current state at once, like a plain GET.
    if (isFinalStatus(job.status) || seconds === 0 || this.waiting >= MAX_WAITERS) return job;
    this.waiting++;
    // The client hanging up, or the API shutting down, ends the wait. (Listeners rather
    // than AbortSignal.any, which would tie every request to the long-lived signal.)
    const ending = new AbortController();
    const end = () => ending.abort();
    const sources = [this.temporal.stopping, gone];
    for (const source of sources) source.addEventListener('abort', end, { once: true });
    if (sources.some((source) => source.aborted)) end();
    const over = ending.signal;
    try {
      const deadline = Date.now() + seconds * 1000;
      while (!isFinalStatus(job.status) && Date.now() < deadline && !over.aborted) {
        await this.temporal.waitForEnd(job.workflowId, deadline - Date.now(), over);
        job = await this.get(id);
        // Temporal unreachable, or a workflow ended without a final row (terminated by hand): check again shortly.
        if (!isFinalStatus(job.status) && !over.aborted) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(1000, deadline - Date.now()))));
      }
      return job;
    } finally {
      this.waiting--;
      for (const source of sources) source.removeEventListener('abort', end);
    }
  }

  async list(query: ListQuery) {
    const page = query.page === undefined ? 1 : Number(query.page);
    const limit = query.limit === undefined ? 20 : Number(query.limit);
    if (!Number.isInteger(page) || page < 1) throw new MenagerieError('INVALID_QUERY', 'page must be a whole number from 1');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new MenagerieError('INVALID_QUERY', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    if (query.status !== undefined && !JOB_STATUSES.includes(query.status as JobStatus)) {
      throw new MenagerieError('INVALID_QUERY', `status must be one of ${JOB_STATUSES.join(', ')}`);
    }
    if (query.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(query.sha256)) {
      throw new MenagerieError('INVALID_QUERY', 'sha256 must be 64 hex digits');
    }
    const { items, total } = await this.jobs.list({
      engine: query.engine,
      status: query.status as JobStatus | undefined,
      sha256: query.sha256?.toLowerCase(),
      limit,
      offset: (page - 1) * limit,
    });
    return { items, total, page, limit, pages: Math.ceil(total / limit) };
  }

  async result(id: string): Promise<ResultFile> {
    const job = await this.get(id);
    if (job.expiredAt) {
      throw new MenagerieError('RESULT_EXPIRED', `the files of job ${id} were removed by retention on ${job.expiredAt.toISOString()}`);
    }
    if (job.status !== 'completed' || !job.resultName) {
      const why = isFinalStatus(job.status) ? `the job ended ${job.status} without a result` : `the job is still ${job.status}`;
      throw new MenagerieError('RESULT_NOT_READY', `no result for job ${id}: ${why}; see /result/${id}`, { status: job.status });
    }
    const file = await this.store.openResult(id);
    if (!file) throw new MenagerieError('RESULT_MISSING', `the result of job ${id} is no longer stored`);
    return { ...file, name: job.resultName, mime: job.resultMime ?? 'application/octet-stream' };
  }

  /**
   * Cancels a queued or running job: its workflow is cancelled, which kills
   * the container. Waits briefly for the final status so the answer is useful.
   */
  async cancel(id: string, waitMs = 15_000): Promise<JobEntity> {
    const job = await this.get(id);
    if (isFinalStatus(job.status)) {
      throw new MenagerieError('JOB_NOT_CANCELLABLE', `job ${id} already ended ${job.status}`, { status: job.status });
    }
    await this.temporal.cancel(job.workflowId);
    const deadline = Date.now() + waitMs;
    let current = job;
    while (!isFinalStatus(current.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      current = (await this.jobs.findById(id)) ?? current;
    }
    return current;
  }
}
