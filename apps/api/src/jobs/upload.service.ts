import { Inject, Injectable, Logger } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MenagerieError, settledWithin, workflowIdFor } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import type { JobEntity, JobRepository } from '@menagerie/db';
import type { Engine } from '@menagerie/engines';
import type { BlobStore, StoredBlob } from '@menagerie/storage';
import { BLOB_STORE, CONFIG, JOB_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';
import { NodesService } from '../nodes/nodes.service';
import { JobDispatcher } from './job-dispatcher.service';
import { cleanOriginalName } from './original-name';

/** Room for multipart boundaries and headers on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;
const FIELD = 'upload';

interface ReceivedFile extends StoredBlob {
  originalName: string;
}

@Injectable()
export class UploadService {
  private readonly logger = new Logger(UploadService.name);

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    private readonly temporal: TemporalService,
    private readonly nodes: NodesService,
    private readonly dispatcher: JobDispatcher,
  ) {}

  /**
   * Streams the upload to storage, then records the job. Its workflow is
   * started by the JobDispatcher, from the row: an upload waits neither for
   * Temporal nor for the engines. Any failure on the way removes what was
   * written; an upload answered 201 is a job that will run.
   */
  async upload(engineName: string, req: Request): Promise<JobEntity> {
    // Looked up per request: engines.json is reloaded while the API runs.
    const engine = this.config.engines.find((e) => e.config.name === engineName);
    if (!engine) {
      throw new MenagerieError('ENGINE_UNKNOWN', `no engine named "${engineName}"; GET /engines lists them`, {
        engines: this.config.engines.map((e) => e.config.name),
      });
    }
    // Refused before a byte is stored when the live nodes say none can run it; with no live
    // node at all, the job is queued for when one is back. (A database that doesn't answer is
    // the job row's to report.)
    const serving = await this.nodes.serving(engine.config.name).catch(() => null);
    if (serving?.refused) {
      throw new MenagerieError('ENGINE_UNAVAILABLE', `engine ${engine.config.name} cannot run on any worker node now: ${serving.reason}`, {
        engine: engine.config.name,
      });
    }
    // Asked while the body arrives: a job is accepted only while the scheduler answers, though started later.
    const scheduler = this.temporal.reachable().then(
      () => null,
      (err: unknown) => err,
    );
    const id = randomUUID();
    const file = await this.receive(id, engine, req);
    const log = { jobId: id, engine: engine.config.name };

    const unreachable = await scheduler;
    if (unreachable) {
      await this.store.remove(id);
      this.logger.error({ ...log, err: unreachable }, 'the job scheduler is unreachable');
      throw new MenagerieError('SCHEDULER_UNAVAILABLE', 'the job scheduler (Temporal) is unavailable; the upload was discarded, try again shortly');
    }
    let job: JobEntity;
    try {
      job = await this.jobs.create({
        id,
        engine: engine.config.name,
        originalName: file.originalName,
        size: file.size,
        sha256: file.sha256,
        image: engine.config.image,
        workflowId: workflowIdFor(id),
      });
    } catch (err) {
      await this.store.remove(id);
      this.logger.error({ ...log, err }, 'could not record the job');
      throw new MenagerieError('DATABASE_UNAVAILABLE', 'the job database is unavailable; the upload was discarded, try again shortly');
    }
    this.dispatcher.wake();
    this.logger.log({ ...log, size: file.size, sha256: file.sha256 }, 'job queued');
    return job;
  }

  private receive(id: string, engine: Engine, req: Request): Promise<ReceivedFile> {
    const limit = engine.config.sizelimit;
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      throw new MenagerieError('NOT_MULTIPART', `send the file as multipart/form-data in a field named "${FIELD}", e.g. curl -F "${FIELD}=@file"`);
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit + MULTIPART_OVERHEAD) {
      throw new MenagerieError('UPLOAD_TOO_LARGE', `the file is larger than engine ${engine.config.name}'s limit of ${limit} bytes`, { limit });
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 40, headerPairs: 100 },
      });
    } catch (err) {
      throw new MenagerieError('MALFORMED_UPLOAD', `the multipart request could not be read: ${(err as Error).message}`);
    }

    const idleSeconds = this.config.settings.api.uploadIdleSeconds;

    return new Promise<ReceivedFile>((resolve, reject) => {
      let writing: Promise<StoredBlob> | undefined;
      let originalName = '';
      let problem: MenagerieError | undefined;
      let settled = false;

      // A client that stops sending would otherwise hold the partial file and its descriptor for as long as it likes.
      const idle = setTimeout(
        () => void fail(new MenagerieError('UPLOAD_TIMEOUT', `no data arrived for ${idleSeconds} s, so the upload was given up; send it again`)),
        idleSeconds * 1000,
      );
      const onData = () => idle.refresh();
      const onEnd = () => clearTimeout(idle); // the body is all here: what is left is our own work
      // However the connection goes (closed, reset, or destroyed by Node over a body longer than its
      // Content-Length), what matters is whether the body's end reached the parser: `req.complete`
      // is already true in the last case, and the parser would wait forever.
      const onGone = () => {
        if (!req.readableEnded) void fail(new MenagerieError('UPLOAD_ABORTED', 'the connection closed before the upload finished'));
      };
      const socket = req.socket;
      const detach = () => {
        clearTimeout(idle);
        req.off('data', onData).off('end', onEnd).off('close', onGone).off('error', onGone);
        socket.off('close', onGone);
      };

      const fail = async (err: unknown) => {
        if (settled) return;
        settled = true;
        detach();
        req.unpipe(parser);
        parser.removeAllListeners('close');
        // Destroys the file stream too, so the writer stops and closes its descriptor.
        parser.destroy();
        await settledWithin(writing, 5000);
        await this.store.remove(id).catch(() => undefined);
        reject(err);
      };

      parser.on('file', (field: string, stream: Readable, info: busboy.FileInfo) => {
        if (field !== FIELD) {
          problem ??= new MenagerieError('UPLOAD_MISSING', `unexpected file field "${field}"; send the file in a field named "${FIELD}"`);
          stream.resume();
          return;
        }
        originalName = cleanOriginalName(info.filename);
        writing = this.store.put(id, 'input', stream, limit);
        writing.catch((err) => void fail(err));
      });
      parser.on('filesLimit', () => {
        problem = new MenagerieError('UPLOAD_TOO_MANY_FILES', `send exactly one file, in the field "${FIELD}"`);
      });
      parser.on('error', (err: Error) => void fail(new MenagerieError('MALFORMED_UPLOAD', `the multipart request could not be read: ${err.message}`)));
      parser.on('close', () => {
        void (async () => {
          if (problem) return fail(problem);
          if (!writing) return fail(new MenagerieError('UPLOAD_MISSING', `no file in the field "${FIELD}"; use curl -F "${FIELD}=@file"`));
          const stored = await writing.catch(() => undefined);
          if (!stored || settled) return; // fail() already handled it
          if (stored.size === 0) return fail(new MenagerieError('UPLOAD_EMPTY', 'the uploaded file is empty; there is nothing to analyse'));
          settled = true;
          detach();
          resolve({ ...stored, originalName });
        })();
      });
      req.on('data', onData).on('end', onEnd).on('close', onGone).on('error', onGone);
      socket.on('close', onGone);
      req.pipe(parser);
      if (socket.destroyed) onGone(); // gone before we listened
    });
  }
}
