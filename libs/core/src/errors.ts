import { isJobId } from './job';

/**
 * Domain errors carry a code; the API maps each code to an HTTP status in one
 * place. Services throw these, never HTTP exceptions.
 */
export const ERROR_CODES = [
  'ENGINE_UNKNOWN',
  'JOB_NOT_FOUND',
  'INVALID_JOB_ID',
  'INVALID_QUERY',
  'NOT_MULTIPART',
  'UPLOAD_MISSING',
  'UPLOAD_TOO_MANY_FILES',
  'UPLOAD_EMPTY',
  'UPLOAD_TOO_LARGE',
  'UPLOAD_ABORTED',
  'UPLOAD_TIMEOUT',
  'MALFORMED_UPLOAD',
  'RESULT_NOT_READY',
  'RESULT_MISSING',
  'RESULT_EXPIRED',
  'NO_REPORT',
  'JOB_NOT_CANCELLABLE',
  'SCHEDULER_UNAVAILABLE',
  'DATABASE_UNAVAILABLE',
  'STORAGE_FULL',
  'STORAGE_UNAVAILABLE',
  'UPLOADS_BUSY',
  'ENGINE_UNAVAILABLE',
  'BODY_TOO_LARGE',
  'MALFORMED_BODY',
  'UNAUTHORIZED',
  'RATE_LIMITED',
  'ENGINE_REFUSES_TYPE',
  'NO_ENGINE_ACCEPTS',
  'INVALID_ENGINES',
  'SUBMISSION_NOT_FOUND',
  'INVALID_SUBMISSION_ID',
  'SUBMISSION_NOT_CANCELLABLE',
  'JOB_NOT_ENDED',
  'INPUT_EXPIRED',
  'CALLBACK_NOT_ALLOWED',
  'DATA_BUNDLE_UNKNOWN',
  'NOT_TAR',
  'BAD_DATA_BUNDLE',
  'DATA_BUNDLE_REFUSED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The codes of answers the HTTP framework gives for itself (an unknown route,
 * a body its parser refuses), by HTTP status name, and of the unexpected
 * (INTERNAL, with a correlation id). Any other framework status is answered
 * as BAD_REQUEST (4xx) or INTERNAL (5xx).
 */
export const FRAMEWORK_ERROR_CODES = ['NOT_FOUND', 'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INTERNAL'] as const;
export type FrameworkErrorCode = (typeof FRAMEWORK_ERROR_CODES)[number];

/** Every `error` an API answer may carry: what the OpenAPI document lists. */
export const API_ERROR_CODES: readonly (ErrorCode | FrameworkErrorCode)[] = [...ERROR_CODES, ...FRAMEWORK_ERROR_CODES];

/** The one shape of an error answer: `{ error, message }`, with a refusal's details beside them. */
export interface ErrorBody {
  error: ErrorCode | FrameworkErrorCode;
  message: string;
  /** On INTERNAL answers: what to quote to an operator. */
  correlationId?: string;
  [detail: string]: unknown;
}

/** The framework's code for an HTTP status it answered with (see FRAMEWORK_ERROR_CODES). */
export function frameworkErrorCode(status: number, statusName: string | undefined): FrameworkErrorCode {
  const named = FRAMEWORK_ERROR_CODES.find((c) => c === statusName && c !== 'INTERNAL');
  return named ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

export class MenagerieError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'MenagerieError';
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}

/** Throws INVALID_JOB_ID, with an example, unless `id` is a job id. */
export function assertJobId(id: string): void {
  if (!isJobId(id)) throw new MenagerieError('INVALID_JOB_ID', 'a job id is a UUID such as 3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90');
}
