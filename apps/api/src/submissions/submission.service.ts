import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { isFinalStatus, MenagerieError, parseEngineChoice, submissionStatus, type EngineChoice } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import {
  JobHistoryRepository,
  SubmissionRepository,
  type JobEntity,
  type JobRepository,
  type NewJob,
  type SubmissionEntity,
} from '@menagerie/db';
import { refusesFile, uploadLimitFor, type Engine } from '@menagerie/engines';
import type { BlobStore } from '@menagerie/storage';
import { BLOB_STORE, CONFIG, JOB_REPOSITORY } from '../common/tokens';
import { JobAdmission } from '../jobs/job-admission.service';
import { JobDispatcher } from '../jobs/job-dispatcher.service';
import { JobService } from '../jobs/job.service';
import type { ReceivedFile } from '../jobs/upload-receiver';
import { forceAsked, UploadService } from '../jobs/upload.service';
import { ApiMetrics } from '@menagerie/metrics';

export interface SubmissionWithJobs {
  submission: SubmissionEntity;
  jobs: JobEntity[];
}

/**
 * One upload, several engines. The file is stored once, under the
 * submission's id; each engine gets a normal job that reads it. The
 * submission row and every job row are written in one transaction: the job
 * rows are the usual outbox (queued rows the JobDispatcher starts) or cache
 * hits recorded completed. So a submission is whole or absent, whatever
 * crashes when, and nothing needs undoing in Temporal.
 */
@Injectable()
export class SubmissionService {
  private readonly logger = new Logger(SubmissionService.name);

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    private readonly history: JobHistoryRepository,
    @Inject(SubmissionRepository) private readonly submissions: SubmissionRepository,
    private readonly uploads: UploadService,
    private readonly admission: JobAdmission,
    private readonly dispatcher: JobDispatcher,
    private readonly jobService: JobService,
    private readonly metrics: ApiMetrics,
  ) {}

  /**
   * Streams the upload to storage once, decides the engines, and records the
   * submission with one job per engine. `engines` and `force` come from the
   * query or, when absent there, from the form (a field may follow the file,
   * so the form's are read once the body is in). Any refusal removes what was
   * stored; a submission answered 201 is one whose every job will run.
   */
  async submit(req: Request, query: { engines?: unknown; force?: unknown; callback?: unknown }): Promise<SubmissionWithJobs> {
    const early = query.engines === undefined ? null : parseEngineChoice(query.engines);
    const earlyCallback = await this.uploads.callbacks.fromQuery(query.callback);
    // Named on the query: refused before a byte is stored, like an upload to one engine.
    const named = early && !early.auto ? early.names.map((name) => this.uploads.engine(name)) : null;
    for (const engine of named ?? []) await this.uploads.assertServed(engine);
    const scheduler = this.uploads.schedulerCheck();
    const id = randomUUID();
    const file = await this.uploads.receiver.receive(id, req, uploadLimitFor(named ?? this.config.engines, named !== null));
    // Whatever this submission stored: its input, and the blobs a cache hit shares to a job.
    const stored = [id];

    let engines: Engine[];
    let choice: EngineChoice;
    try {
      choice = early ?? parseEngineChoice(file.fields.engines);
      engines = choice.auto ? await this.accepting(file) : await this.named(choice.names, file, named !== null);
    } catch (err) {
      await this.removeAll(stored);
      throw err;
    }
    const callbackUrl = earlyCallback ?? (await this.uploads.callbacks.fromForm(file.fields, () => this.removeAll(stored)));
    const requested = choice.auto ? 'auto' : choice.names.join(',');
    const log = { submissionId: id, engines: engines.map((e) => e.config.name) };

    const unreachable = await scheduler;
    if (unreachable) await this.uploads.discard(stored, 'SCHEDULER_UNAVAILABLE', unreachable, log);
    const force = forceAsked(query.force, file.fields);
    let created: SubmissionWithJobs;
    try {
      const rows: NewJob[] = [];
      for (const engine of engines) {
        const jobId = randomUUID();
        stored.push(jobId);
        rows.push(await this.admission.prepare(engine, file, { jobId, force, submissionId: id, inputFrom: id }));
      }
      // Before the rows: its jobs' events and the submission's find it (it is also each job's callback).
      if (callbackUrl) await this.uploads.webhooks.addCallback(id, callbackUrl);
      created = await this.submissions.create(
        { id, originalName: file.originalName, size: file.size, sha256: file.sha256, inputMime: file.mime, requested, forced: force },
        rows,
      );
    } catch (err) {
      if (err instanceof MenagerieError && err.code === 'STORAGE_UNAVAILABLE') {
        await this.removeAll(stored);
        throw err;
      }
      return this.uploads.discard(stored, 'DATABASE_UNAVAILABLE', err, log);
    }
    // Cache hits are recorded completed at once, by this insert.
    for (const job of created.jobs) if (job.status !== 'queued') this.metrics.jobEnded(job.engine, job.status);
    if (created.jobs.some((job) => job.status === 'queued')) this.dispatcher.wake();
    this.logger.log(
      {
        ...log,
        jobIds: created.jobs.map((j) => j.id),
        size: file.size,
        sha256: file.sha256,
        mime: file.mime,
        cached: created.jobs.filter((j) => j.status === 'completed').length,
      },
      'submission queued',
    );
    return created;
  }

  /** The engines named explicitly: each must take the file's size and type, or the submission is refused. */
  private async named(names: string[], file: ReceivedFile, served: boolean): Promise<Engine[]> {
    const engines = names.map((name) => this.uploads.engine(name));
    for (const engine of engines) {
      const refusal = refusesFile(engine, file);
      if (refusal) throw new MenagerieError(refusal.code, `${refusal.message}; the upload was discarded`, refusal.details);
      if (!served) await this.uploads.assertServed(engine);
    }
    return engines;
  }

  /** `engines=auto`: every configured engine that takes the file's type and size and some live node can run. */
  private async accepting(file: ReceivedFile): Promise<Engine[]> {
    const chosen: Engine[] = [];
    const reasons: string[] = [];
    for (const engine of this.config.engines) {
      const refusal = refusesFile(engine, file);
      if (refusal) {
        reasons.push(refusal.message);
        continue;
      }
      try {
        await this.uploads.assertServed(engine);
        chosen.push(engine);
      } catch (err) {
        if (!(err instanceof MenagerieError && err.code === 'ENGINE_UNAVAILABLE')) throw err;
        reasons.push(err.message);
      }
    }
    if (!chosen.length) {
      throw new MenagerieError(
        'NO_ENGINE_ACCEPTS',
        `no engine accepts this file (${file.mime}, ${file.size} bytes): ${reasons.join('; ')}; the upload was discarded`,
        {
          mime: file.mime,
        },
      );
    }
    return chosen;
  }

  private async removeAll(ids: string[]): Promise<void> {
    for (const id of ids) await this.store.remove(id).catch(() => undefined);
  }

  /** `id` is canonical (SubmissionId checked and lower-cased it). */
  async get(id: string): Promise<SubmissionWithJobs> {
    const submission = await this.submissions.get(id);
    return { submission, jobs: await this.history.bySubmission(id) };
  }

  /**
   * The submission once every job of it has ended or `wait` (seconds, as
   * given in the query) has passed, as /result/<id>?wait=N is for one job.
   */
  async getWhenDone(id: string, wait: string | undefined, gone: AbortSignal): Promise<SubmissionWithJobs> {
    const unfinished = (current: SubmissionWithJobs) => current.jobs.filter((job) => !isFinalStatus(job.status)).map((job) => job.id);
    return this.jobService.readWhenEnded(() => this.get(id), unfinished, wait, gone);
  }

  /**
   * Cancels every job of the submission still queued or running (each as
   * DELETE /jobs/<id> does), and answers the submission as it then stands.
   */
  async cancel(id: string): Promise<SubmissionWithJobs> {
    const { submission, jobs } = await this.get(id);
    const live = jobs.filter((job) => !isFinalStatus(job.status));
    if (!live.length) {
      const status = submissionStatus(jobs.map((j) => j.status));
      throw new MenagerieError('SUBMISSION_NOT_CANCELLABLE', `every job of submission ${id} already ended (${status})`, { status });
    }
    const outcomes = await Promise.allSettled(live.map((job) => this.jobService.cancel(job.id)));
    // A job that ended on its own meanwhile is no failure of the cancel.
    const failure = outcomes.find(
      (o): o is PromiseRejectedResult =>
        o.status === 'rejected' && !(o.reason instanceof MenagerieError && o.reason.code === 'JOB_NOT_CANCELLABLE'),
    );
    if (failure) throw failure.reason;
    this.logger.log({ submissionId: id, jobIds: live.map((j) => j.id) }, 'submission cancelled');
    return { submission, jobs: await this.history.bySubmission(id) };
  }
}
