import { HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { assertUnreachable, type ErrorBody, type ErrorCode } from '@menagerie/core';

/** The one place a domain error code becomes an HTTP status. */
export function statusFor(code: ErrorCode): HttpStatus {
  switch (code) {
    case 'ENGINE_UNKNOWN':
    case 'JOB_NOT_FOUND':
    case 'SUBMISSION_NOT_FOUND':
    case 'RESULT_NOT_READY':
    case 'RESULT_MISSING':
    case 'NO_REPORT':
    case 'DATA_BUNDLE_UNKNOWN':
      return HttpStatus.NOT_FOUND;
    case 'INVALID_JOB_ID':
    case 'INVALID_QUERY':
    case 'UPLOAD_MISSING':
    case 'UPLOAD_TOO_MANY_FILES':
    case 'UPLOAD_EMPTY':
    case 'MALFORMED_UPLOAD':
    case 'UPLOAD_ABORTED':
    case 'MALFORMED_BODY':
    case 'INVALID_ENGINES':
    case 'INVALID_SUBMISSION_ID':
    case 'CALLBACK_NOT_ALLOWED':
    case 'BAD_DATA_BUNDLE':
      return HttpStatus.BAD_REQUEST;
    case 'ENGINE_REFUSES_TYPE':
    case 'NO_ENGINE_ACCEPTS':
    case 'DATA_BUNDLE_REFUSED':
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case 'UPLOAD_TIMEOUT':
      return HttpStatus.REQUEST_TIMEOUT;
    case 'NOT_MULTIPART':
    case 'NOT_TAR':
      return HttpStatus.UNSUPPORTED_MEDIA_TYPE;
    case 'UPLOAD_TOO_LARGE':
    case 'BODY_TOO_LARGE':
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case 'RESULT_EXPIRED':
    case 'INPUT_EXPIRED':
      return HttpStatus.GONE;
    case 'UNAUTHORIZED':
      return HttpStatus.UNAUTHORIZED;
    case 'RATE_LIMITED':
      return HttpStatus.TOO_MANY_REQUESTS;
    case 'JOB_NOT_CANCELLABLE':
    case 'JOB_NOT_ENDED':
    case 'SUBMISSION_NOT_CANCELLABLE':
      return HttpStatus.CONFLICT;
    case 'SCHEDULER_UNAVAILABLE':
    case 'DATABASE_UNAVAILABLE':
    case 'STORAGE_UNAVAILABLE':
    case 'UPLOADS_BUSY':
    case 'ENGINE_UNAVAILABLE':
      return HttpStatus.SERVICE_UNAVAILABLE;
    case 'STORAGE_FULL':
      return HttpStatus.INSUFFICIENT_STORAGE;
    default:
      return assertUnreachable(code);
  }
}

/** Answers with the API's JSON error shape, from middleware that runs outside Nest's exception filter. */
export function sendError(res: Response, code: ErrorCode, message: string): void {
  const body: ErrorBody = { error: code, message };
  res.status(statusFor(code)).json(body);
}
