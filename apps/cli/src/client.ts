import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ApiError, apiErrorFrom, CliError, ConnectionError, connectionFailure, ERROR_BODY_LIMIT } from './errors';
import type { BundlePush, Engine, EngineBundles, Job, JobPage, Report, Submission } from './types';

export interface Connection {
  /** The API's base URL, without a trailing slash. */
  url: string;
  apiKey: string | null;
}

type Query = Record<string, string | number | boolean | undefined | null>;

/** How the upload is addressed: one engine, or a submission to several (or auto). */
export type Target = { kind: 'engine'; engine: string } | { kind: 'submission'; engines: string };

/**
 * The API over HTTP, and nothing else: each call is one request, an error
 * answer becomes an ApiError with the server's code and message, and a
 * request that never got an answer a CONNECTION_FAILED naming the URL.
 */
export class ApiClient {
  constructor(
    private readonly connection: Connection,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  get baseUrl(): string {
    return this.connection.url;
  }

  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query))
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    const qs = params.toString();
    return `${this.connection.url}${path}${qs ? `?${qs}` : ''}`;
  }

  /** The request, answered 2xx; otherwise throws. The caller reads (or cancels) the body. A Blob body is sent as `contentType`. */
  async request(method: string, path: string, query: Query = {}, body?: FormData | Blob, contentType?: string): Promise<Response> {
    const url = this.url(path, query);
    // The API takes the key as X-API-Key (or a Bearer token); never in the URL, which logs would keep.
    const headers: Record<string, string> = { accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}) };
    if (this.connection.apiKey) headers['x-api-key'] = this.connection.apiKey;
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers, body, redirect: 'error' });
    } catch (err) {
      const failure = connectionFailure(err);
      throw new ConnectionError(`${method} ${url}: ${failure.text}`, failure.code);
    }
    if (res.ok) return res;
    throw apiErrorFrom(res.status, res.statusText, await readCapped(res, ERROR_BODY_LIMIT));
  }

  async json<T>(
    method: string,
    path: string,
    query: Query = {},
    body?: FormData | Blob,
    contentType?: string,
  ): Promise<{ status: number; body: T }> {
    const res = await this.request(method, path, query, body, contentType);
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as T };
    } catch {
      throw new CliError('BAD_ANSWER', `${method} ${path}: the server's answer is not JSON (HTTP ${res.status})`);
    }
  }

  /**
   * Streams the file from disk (openAsBlob: its size is known, so the API can
   * refuse an oversize one from Content-Length, before reading the body).
   */
  async upload(path: string, target: Target, force: boolean): Promise<{ job: Job } | { submission: Submission }> {
    const form = new FormData();
    const blob = await openAsBlob(path);
    form.append('upload', blob, basename(path));
    const query = { force: force ? 'true' : undefined };
    try {
      if (target.kind === 'engine') {
        return { job: (await this.json<Job>('POST', `/${encodeURIComponent(target.engine)}/upload`, query, form)).body };
      }
      return { submission: (await this.json<Submission>('POST', '/submit', { ...query, engines: target.engines }, form)).body };
    } catch (err) {
      throw await this.explained(err, path, target);
    }
  }

  /**
   * The API refuses an oversize upload and closes the connection without
   * reading the rest, so its 413 can be lost to the client's EPIPE or reset.
   * Then, and only then, the engines' limits (GET /engines) tell whether
   * that was the cause. The API stays the one that enforces them.
   */
  private async explained(err: unknown, path: string, target: Target): Promise<unknown> {
    if (!(err instanceof ConnectionError) || !DROPPED.includes(err.reason ?? '')) return err;
    try {
      // Loaded only here: the engines' rules (@menagerie/engines, zod with them) stay off every other command's start.
      const { oversizeFor } = await import('./upload-limits');
      const message = oversizeFor((await stat(path)).size, target, await this.engines());
      return message ? new ApiError('UPLOAD_TOO_LARGE', `${message} (the API closed the connection while the file was sent)`, 413) : err;
    } catch {
      return err;
    }
  }

  async job(id: string, waitSeconds?: number): Promise<Job> {
    return (await this.json<Job>('GET', `/result/${encodeURIComponent(id)}`, { wait: waitSeconds })).body;
  }

  async submission(id: string, waitSeconds?: number): Promise<Submission> {
    return (await this.json<Submission>('GET', `/submission/${encodeURIComponent(id)}`, { wait: waitSeconds })).body;
  }

  /** A job, or else a submission with that id (ids of both are UUIDs: the job is asked first). */
  async jobOrSubmission(id: string): Promise<{ job: Job } | { submission: Submission }> {
    return this.eitherOf(
      id,
      async () => ({ job: await this.job(id) }),
      async () => ({ submission: await this.submission(id) }),
    );
  }

  async jobs(query: Query): Promise<JobPage> {
    return (await this.json<JobPage>('GET', '/jobs', query)).body;
  }

  async engines(): Promise<Engine[]> {
    return (await this.json<{ engines: Engine[] }>('GET', '/engines')).body.engines;
  }

  /** DELETE /jobs/<id>, or /submission/<id>; `stopping` when the API answered 202 (not final yet). */
  async cancel(id: string): Promise<({ job: Job } | { submission: Submission }) & { stopping: boolean }> {
    const path = encodeURIComponent(id);
    return this.eitherOf(
      id,
      async () => {
        const { status, body } = await this.json<Job>('DELETE', `/jobs/${path}`);
        return { job: body, stopping: status === 202 };
      },
      async () => {
        const { status, body } = await this.json<Submission>('DELETE', `/submission/${path}`);
        return { submission: body, stopping: status === 202 };
      },
    );
  }

  /** POST /engines/<engine>/data/<bundle>: the tar at `tarPath` (streamed from disk, its length known); 201 a new current version, 200 unchanged. */
  async pushBundle(engine: string, bundle: string, tarPath: string): Promise<BundlePush> {
    const path = `/engines/${encodeURIComponent(engine)}/data/${encodeURIComponent(bundle)}`;
    return (await this.json<BundlePush>('POST', path, {}, await openAsBlob(tarPath), 'application/x-tar')).body;
  }

  /** GET /engines/<engine>/data: each bundle's current version and history. */
  async bundles(engine: string): Promise<EngineBundles> {
    return (await this.json<EngineBundles>('GET', `/engines/${encodeURIComponent(engine)}/data`)).body;
  }

  /** GET /report/<id>: the engine's whole report. */
  async report(id: string): Promise<Report> {
    return (await this.json<Report>('GET', `/report/${encodeURIComponent(id)}`)).body;
  }

  /** GET /link/<id>: the response, with its body still to read. */
  async result(id: string): Promise<Response> {
    return this.request('GET', `/link/${encodeURIComponent(id)}`);
  }

  private async eitherOf<J, S>(id: string, asJob: () => Promise<J>, asSubmission: () => Promise<S>): Promise<J | S> {
    try {
      return await asJob();
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'JOB_NOT_FOUND') throw err;
    }
    try {
      return await asSubmission();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SUBMISSION_NOT_FOUND') {
        throw new ApiError('NOT_FOUND', `no job or submission has the id ${id}`, 404);
      }
      throw err;
    }
  }
}

/** How a connection ends when the server stops reading an upload. */
const DROPPED = ['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET'];

/** At most `limit` bytes of the body as text; the rest is not read. */
async function readCapped(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // a body cut short: what arrived is enough for one line
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
