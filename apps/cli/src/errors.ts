/** The CLI's exit codes: 0 all went well, 1 something failed, 2 the command line was wrong. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** A failure reported as one line, `menagerie: CODE: message`, and a non-zero exit. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
  }
}

/** The command line asks for something impossible (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super('USAGE', message, EXIT.USAGE);
  }
}

/** The API answered with an error: its JSON `{ error, message }`, or the bare HTTP status. */
export class ApiError extends CliError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> | null = null,
  ) {
    super(code, message);
  }
}

/** A request that never got an answer; `reason` is the system's code (ECONNREFUSED, EPIPE, ...) when there is one. */
export class ConnectionError extends CliError {
  constructor(
    message: string,
    readonly reason: string | null,
  ) {
    super('CONNECTION_FAILED', message);
  }
}

/** Reading the server's answer stops here: an error body is a line, not a download. */
export const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * The ApiError for a non-2xx answer. The API's own errors are JSON
 * `{ error, message, ... }`; anything else (a proxy's HTML page, an empty
 * body) becomes `HTTP_<status>` with the status text.
 */
export function apiErrorFrom(status: number, statusText: string, text: string): ApiError {
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: described by its status below
  }
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    const json = body as Record<string, unknown>;
    let message = typeof json.message === 'string' ? json.message : '';
    // ENGINE_UNKNOWN lists the engines: worth the few words on the same line.
    if (Array.isArray(json.engines) && json.engines.length) message += ` (engines: ${json.engines.join(', ')})`;
    return new ApiError(json.error as string, message || `HTTP ${status}`, status, json);
  }
  const snippet = oneLine(text).slice(0, 200);
  return new ApiError(`HTTP_${status}`, [statusText || 'the server answered an error', snippet].filter(Boolean).join(': '), status);
}

/** Why a request never got an answer, as Node's fetch reports it (the reason is in `cause`, maybe an AggregateError). */
export function connectionReason(err: unknown): string {
  return connectionFailure(err).text;
}

/** The system's code for a failed request, if any, and the words for it. */
export function connectionFailure(err: unknown): { code: string | null; text: string } {
  const seen = new Set<unknown>();
  let current: unknown = err;
  let deepest = err instanceof Error ? err.message : String(err);
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof e.code === 'string') return { code: e.code, text: explained(e.code, typeof e.message === 'string' ? e.message : '') };
    if (typeof e.message === 'string' && e.message) deepest = e.message;
    current = e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
  }
  return { code: null, text: oneLine(deepest) };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the answer stalled',
};

function explained(code: string, message: string): string {
  return `${code}: ${REASONS[code] ?? oneLine(message)}`;
}

/** The one line an error is shown as, without the `menagerie: ` prefix. Never a stack. */
export function describeError(err: unknown): string {
  if (err instanceof CliError) return `${err.code}: ${oneLine(err.message)}`;
  if (err instanceof Error) return `${(err as { code?: string }).code ?? 'ERROR'}: ${oneLine(err.message)}`;
  return `ERROR: ${oneLine(String(err))}`;
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : EXIT.FAILED;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
