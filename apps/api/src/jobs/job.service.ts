import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { isFinalStatus, MenagerieError, parseJobSearch, resultAvailability } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import type { JobEntity, JobPage, JobRepository } from '@menagerie/db';
import type { BlobStore } from '@menagerie/storage';
import { BLOB_STORE, CONFIG, JOB_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';

export interface ResultFile {
  stream: Readable;
  size: number;
  name: string;
  mime: string;
}

const MAX_WAIT_SECONDS = 60;
/** Requests blocked on ?wait at once; each holds one long poll to Temporal. */
const MAX_WAITERS = 1000;

@Injectable()
export class JobService {
  private waiting = 0;

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly temporal: TemporalService,
  ) {}

  /** `id` is canonical: JobIdPipe checked and lower-cased it at the edge. */
  async get(id: string): Promise<JobEntity> {
    return this.jobs.get(id);
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

  /** GET /jobs: the history, newest first, filtered by engine, status and sha256. */
  async list(query: Record<string, unknown>): Promise<JobPage> {
    return this.jobs.search(parseJobSearch(query, ['engine', 'status', 'sha256']));
  }

  async result(id: string): Promise<ResultFile> {
    const job = await this.get(id);
    const availability = resultAvailability(job);
    if (!availability.available) {
      throw new MenagerieError(availability.code, `no result for job ${id}: ${availability.reason}; see /result/${id}`, { status: job.status });
    }
    const file = await this.store.open(id, 'result');
    if (!file) throw new MenagerieError('RESULT_MISSING', `the result of job ${id} is no longer stored`);
    return { ...file, name: job.resultName!, mime: job.resultMime ?? 'application/octet-stream' };
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
    // Not started yet (the dispatcher's backlog): the row alone says so. Started meanwhile: its workflow is cancelled.
    if (job.runId === null && (await this.jobs.cancelUnstarted(id))) return (await this.jobs.findById(id)) ?? job;
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
