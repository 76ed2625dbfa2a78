import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { MenagerieError } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import type { JobEntity, JobRepository, WebhookRepository } from '@menagerie/db';
import { engineNamed, refusesType, uploadLimitFor, type Engine } from '@menagerie/engines';
import type { BlobStore } from '@menagerie/storage';
import { BLOB_STORE, CONFIG, JOB_REPOSITORY, WEBHOOK_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';
import { NodesService } from '../nodes/nodes.service';
import { JobAdmission } from './job-admission.service';
import { JobDispatcher } from './job-dispatcher.service';
import { UploadReceiver, type ReceivedFile } from './upload-receiver';
import { CallbackPolicy } from '../webhooks/callback-policy';
import { ApiMetrics } from '@menagerie/metrics';

/** `force=true` (or 1, yes) on the query or as a form field: run the engine whatever the cache holds. */
export function forceAsked(query: unknown, fields: Record<string, string>): boolean {
  const value = typeof query === 'string' ? query : fields.force;
  return value !== undefined && /^(1|true|yes)$/i.test(value.trim());
}

@Injectable()
export class UploadService {
  private readonly logger = new Logger(UploadService.name);
  readonly receiver: UploadReceiver;

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    private readonly temporal: TemporalService,
    private readonly nodes: NodesService,
    private readonly dispatcher: JobDispatcher,
    private readonly admission: JobAdmission,
    readonly callbacks: CallbackPolicy,
    @Inject(WEBHOOK_REPOSITORY) readonly webhooks: WebhookRepository,
    private readonly metrics: ApiMetrics,
  ) {
    this.receiver = new UploadReceiver(store, config.settings.api.uploadIdleSeconds, config.settings.api.minUploadBytesPerSecond);
  }

  /** The engine by name, or ENGINE_UNKNOWN listing them (looked up per request: engines.json is reloaded while the API runs). */
  engine(name: string): Engine {
    return engineNamed(this.config.engines, name);
  }

  /** Refused before a byte is stored when the live nodes say none can run it; with no live node at all, jobs wait for one. */
  async assertServed(engine: Engine): Promise<void> {
    await this.nodes.assertServes(engine.config.name);
  }

  /** Asked while the body arrives: a job is accepted only while the scheduler answers, though started later. Resolves to the failure, or null. */
  schedulerCheck(): Promise<unknown> {
    return this.temporal.reachable().then(
      () => null,
      (err: unknown) => err,
    );
  }

  /** Removes what `ids` stored, and says why the upload was discarded. */
  async discard(
    ids: string[],
    code: 'SCHEDULER_UNAVAILABLE' | 'DATABASE_UNAVAILABLE',
    err: unknown,
    log: Record<string, unknown>,
  ): Promise<never> {
    for (const id of ids) await this.store.remove(id).catch(() => undefined);
    if (code === 'SCHEDULER_UNAVAILABLE') {
      this.logger.error({ ...log, err }, 'the job scheduler is unreachable');
      throw new MenagerieError(code, 'the job scheduler (Temporal) is unavailable; the upload was discarded, try again shortly');
    }
    this.logger.error({ ...log, err }, 'could not record the job');
    throw new MenagerieError(code, 'the job database is unavailable; the upload was discarded, try again shortly');
  }

  /** An engine named explicitly that refuses the file's detected type: 422, nothing kept. */
  async assertAccepts(engine: Engine, file: ReceivedFile, stored: string[]): Promise<void> {
    const refusal = refusesType(engine, file.mime);
    if (!refusal) return;
    for (const id of stored) await this.store.remove(id).catch(() => undefined);
    throw new MenagerieError('ENGINE_REFUSES_TYPE', `${refusal}; the upload was discarded`, {
      engine: engine.config.name,
      mime: file.mime,
    });
  }

  /**
   * Streams the upload to storage, then records the job. Its workflow is
   * started by the JobDispatcher, from the row: an upload waits neither for
   * Temporal nor for the engines. Any failure on the way removes what was
   * written; an upload answered 201 is a job that will run.
   */
  async upload(engineName: string, req: Request, force?: unknown, callback?: unknown): Promise<JobEntity> {
    const engine = this.engine(engineName);
    await this.assertServed(engine);
    const early = await this.callbacks.fromQuery(callback);
    const scheduler = this.schedulerCheck();
    const id = randomUUID();
    const name = engine.config.name;
    const file = await this.receiver.receive(id, req, uploadLimitFor([engine], true));
    const log = { jobId: id, engine: name };
    await this.assertAccepts(engine, file, [id]);
    const callbackUrl = early ?? (await this.callbacks.fromForm(file.fields, () => this.store.remove(id).catch(() => undefined)));

    const unreachable = await scheduler;
    if (unreachable) await this.discard([id], 'SCHEDULER_UNAVAILABLE', unreachable, log);
    let job: JobEntity;
    try {
      const row = await this.admission.prepare(engine, file, { jobId: id, force: forceAsked(force, file.fields) });
      // Before the job's row: the event its end writes then always finds it.
      if (callbackUrl) await this.webhooks.addCallback(id, callbackUrl);
      job = await this.jobs.create(row);
    } catch (err) {
      if (err instanceof MenagerieError && err.code === 'STORAGE_UNAVAILABLE') {
        await this.store.remove(id).catch(() => undefined);
        throw err;
      }
      return this.discard([id], 'DATABASE_UNAVAILABLE', err, log);
    }
    if (job.status !== 'queued') {
      this.metrics.jobEnded(job.engine, job.status);
      this.logger.log({ ...log, cachedFrom: job.cachedFrom }, 'job served from the cache');
      return job;
    }
    this.dispatcher.wake();
    this.logger.log(
      { ...log, size: file.size, sha256: file.sha256, mime: file.mime, following: job.cachedFrom ?? undefined },
      'job queued',
    );
    return job;
  }
}
