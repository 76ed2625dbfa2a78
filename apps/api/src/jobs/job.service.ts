import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { isFinalStatus, MenagerieError, parseJobSearch, resultAvailability, workflowIdFor } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import {
  JobHistoryRepository,
  JobOutboxRepository,
  type JobEndings,
  type JobEntity,
  type JobPage,
  type JobRepository,
} from '@menagerie/db';
import type { BlobStore } from '@menagerie/storage';
import { BLOB_STORE, CONFIG, JOB_ENDINGS, JOB_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';
import { JobDispatcher } from './job-dispatcher.service';
import { NodesService } from '../nodes/nodes.service';
import { refusesFile } from '@menagerie/engines';
import { BundleVersions } from '../bundles/bundle-versions.service';
import { ApiMetrics } from '@menagerie/metrics';

export interface ResultFile {
  stream: Readable;
  size: number;
  name: string;
  mime: string;
}

const MAX_WAIT_SECONDS = 60;
/** Requests blocked on ?wait at once (each holds its connection); past it, a waiter is answered at once. */
const MAX_WAITERS = 10_000;
/** While the database's announcements are not heard, a waiter reads its row this often. */
const POLL_MS = 1000;

@Injectable()
export class JobService {
  private waiting = 0;

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    private readonly outbox: JobOutboxRepository,
    private readonly history: JobHistoryRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(JOB_ENDINGS) private readonly endings: JobEndings,
    private readonly temporal: TemporalService,
    private readonly dispatcher: JobDispatcher,
    private readonly metrics: ApiMetrics,
    private readonly nodes: NodesService,
    private readonly bundles: BundleVersions,
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
    return this.readWhenEnded(
      () => this.get(id),
      (job) => (isFinalStatus(job.status) ? [] : [id]),
      wait,
      gone,
    );
  }

  /**
   * The one rule for `?wait=N`: reads `read()` again whenever one of the jobs
   * `unfinished` names in it is announced ended, until none is left, `wait`
   * seconds (0 to 60, as given in the query) have passed, the client hangs
   * up (`gone`) or the API shuts down. Past MAX_WAITERS, it answers at once.
   * For one job (/result) and for a submission's jobs.
   */
  async readWhenEnded<T>(
    read: () => Promise<T>,
    unfinished: (current: T) => string[],
    wait: string | undefined,
    gone: AbortSignal,
  ): Promise<T> {
    const seconds = wait === undefined ? 0 : Number(wait);
    if (!/^\d+$/.test(wait ?? '0') || seconds > MAX_WAIT_SECONDS) {
      throw new MenagerieError('INVALID_QUERY', `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
    }
    if (seconds === 0 || this.waiting >= MAX_WAITERS) return read(); // past the cap: the current state at once, like a plain GET
    let current = await read();
    if (!unfinished(current).length) return current;
    this.waiting++;
    // The client hanging up, or the API shutting down, ends the wait. (Listeners rather
    // than AbortSignal.any, which would tie every request to the long-lived signal.)
    const stop = new AbortController();
    const end = () => stop.abort();
    const sources = [this.temporal.stopping, gone];
    for (const source of sources) source.addEventListener('abort', end, { once: true });
    if (sources.some((source) => source.aborted)) end();
    const over = stop.signal;
    const deadline = Date.now() + seconds * 1000;
    // Listening before the rows are read again: an end committed in between is still heard.
    const listen = (ids: string[]) => {
      const left = deadline - Date.now();
      return ids.map((jobId) => this.endings.ended(jobId, this.endings.listening ? left : Math.min(POLL_MS, left), over));
    };
    let endings = listen(unfinished(current));
    try {
      current = await read();
      // (Jobs only ever become final, so what is unfinished now was listened for.)
      while (unfinished(current).length && Date.now() < deadline && !over.aborted) {
        await Promise.race(endings.map((e) => e.done));
        for (const e of endings) e.cancel();
        endings = listen(unfinished(current));
        current = await read();
      }
      return current;
    } finally {
      for (const e of endings) e.cancel();
      this.waiting--;
      for (const source of sources) source.removeEventListener('abort', end);
    }
  }

  /** GET /jobs: the history, newest first, filtered by engine, status, sha256 and a report's tag. */
  async list(query: Record<string, unknown>): Promise<JobPage> {
    return this.history.search(parseJobSearch(query, ['engine', 'status', 'sha256', 'tag']));
  }

  /** GET /report/<id>: the engine's whole report, while the job's files are kept. */
  async report(id: string): Promise<Readable> {
    const job = await this.get(id);
    const availability = resultAvailability(job);
    if (!availability.available) {
      throw new MenagerieError(availability.code, `no report for job ${id}: ${availability.reason}; see /result/${id}`, {
        status: job.status,
      });
    }
    if (!job.report)
      throw new MenagerieError('NO_REPORT', `engine ${job.engine} wrote no report.json for job ${id}; its result is at /link/${id}`);
    const file = await this.store.open(id, 'report');
    if (!file) throw new MenagerieError('RESULT_MISSING', `the report of job ${id} is no longer stored`);
    return file.stream;
  }

  async result(id: string): Promise<ResultFile> {
    const job = await this.get(id);
    const availability = resultAvailability(job);
    if (!availability.available) {
      throw new MenagerieError(availability.code, `no result for job ${id}: ${availability.reason}; see /result/${id}`, {
        status: job.status,
      });
    }
    const file = await this.store.open(id, 'result');
    if (!file) throw new MenagerieError('RESULT_MISSING', `the result of job ${id} is no longer stored`);
    return { ...file, name: job.resultName!, mime: job.resultMime ?? 'application/octet-stream' };
  }

  /**
   * Runs an ended job again as a new job: the same input (shared with the new
   * job, so it lasts as long as the new one does), the engine's current
   * definition, the cache bypassed (a retry asks for a run). The two are
   * linked (retryOf / retriedAs). 409 while the job has not ended, 410 once
   * its input is gone; refused as an upload to the engine now would be (its
   * sizelimit, accepts/rejects, and a node that can run it).
   */
  async retry(id: string): Promise<JobEntity> {
    const job = await this.get(id);
    if (!isFinalStatus(job.status)) {
      throw new MenagerieError(
        'JOB_NOT_ENDED',
        `job ${id} is still ${job.status}: wait for it to end (GET /result/${id}?wait=60), or cancel it, then retry`,
        { status: job.status },
      );
    }
    const gone = () =>
      new MenagerieError(
        'INPUT_EXPIRED',
        `the input of job ${id} is no longer stored${job.expiredAt ? ` (removed by retention on ${job.expiredAt.toISOString()})` : ''}; upload the file again`,
      );
    if (job.expiredAt) throw gone();
    const engine = this.config.engines.find((e) => e.config.name === job.engine);
    if (!engine)
      throw new MenagerieError('ENGINE_UNKNOWN', `engine ${job.engine} is no longer configured; GET /engines lists them`, {
        engines: this.config.engines.map((e) => e.config.name),
      });
    // The engine as it is now takes the file, as an upload of it would be asked.
    const refusal = refusesFile(engine, { size: job.size, mime: job.inputMime });
    if (refusal) throw new MenagerieError(refusal.code, `${refusal.message}; job ${id} was not retried`, refusal.details);
    await this.nodes.assertServes(engine.config.name);
    const retryId = randomUUID();
    if (!(await this.store.share(job.inputFrom ?? job.id, retryId, 'input'))) throw gone();
    try {
      const retried = await this.jobs.createRetry(job.id, {
        id: retryId,
        engine: job.engine,
        originalName: job.originalName,
        size: job.size,
        sha256: job.sha256,
        inputMime: job.inputMime,
        image: engine.config.image,
        workflowId: workflowIdFor(retryId),
        forced: true,
        // A retry runs with the engine as it is now: its bundles' current versions.
        data: await this.bundles.digestsFor(engine),
      });
      this.dispatcher.wake();
      return retried;
    } catch (err) {
      await this.store.remove(retryId).catch(() => undefined);
      throw new MenagerieError('DATABASE_UNAVAILABLE', `the job database is unavailable, so job ${id} was not retried; try again shortly`, {
        cause: String(err),
      });
    }
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
    if (job.runId === null && (await this.outbox.cancelUnstarted(id))) {
      this.metrics.jobEnded(job.engine, 'cancelled');
      return (await this.jobs.findById(id)) ?? job;
    }
    // (Temporal takes a cancel of a closed workflow as done: whether it is still open is asked of it.)
    await this.temporal.cancel(job.workflowId);
    if ((await this.temporal.workflowState(job.workflowId)).state !== 'open') {
      // Its workflow is closed or gone (terminated from the Web UI, lost), and if it recorded how it ended,
      // that stands (the first write wins); else nothing else will end the row, so this does, now.
      const error = `cancelled by request; its workflow ${job.workflowId} was no longer open in Temporal`;
      if (await this.jobs.recordFinalStatus({ jobId: id, status: 'cancelled', error })) this.metrics.jobEnded(job.engine, 'cancelled');
      return this.jobs.get(id);
    }
    const deadline = Date.now() + waitMs;
    let current = job;
    while (!isFinalStatus(current.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      current = (await this.jobs.findById(id)) ?? current;
    }
    return current;
  }
}
