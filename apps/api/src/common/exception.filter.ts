import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { frameworkErrorCode, MenagerieError, type ErrorBody } from '@menagerie/core';
import { statusFor } from './error.mapper';

/** A refused request's unread body up to this size is read and dropped before the answer. */
export const DRAIN_LIMIT = 1024 * 1024;
/** How long a small body's sender gets to finish before the connection is closed anyway. */
const DRAIN_MS = 5_000;

/**
 * Answers a request whose body was not all read. A small declared body is
 * read and dropped first: a client still sending (fetch, curl) then gets the
 * answer instead of a broken pipe, and may keep the connection. A large,
 * unknown-length or stalled one is not drained: the answer closes the
 * connection, so no client reuses a socket with bytes in flight.
 */
function afterUnreadBody(req: Request, res: Response, send: () => void): void {
  const declared = Number(req.headers['content-length']);
  if (req.destroyed || !(declared <= DRAIN_LIMIT)) {
    res.setHeader('Connection', 'close');
    send();
    return;
  }
  let answered = false;
  const answer = (drained: boolean) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    req.off('end', onEnd).off('close', onCut).off('error', onCut);
    if (!drained) res.setHeader('Connection', 'close');
    if (!res.destroyed) send();
  };
  const onEnd = () => answer(true);
  const onCut = () => answer(false);
  const timer = setTimeout(onCut, DRAIN_MS);
  req.on('end', onEnd).on('close', onCut).on('error', onCut);
  req.resume();
}

/**
 * Every error leaves as JSON `{ error, message }`. Unknown errors are logged
 * with a correlation id and the client gets only that id, never a stack.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const [status, body] = this.describe(exception, req);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const send = () => res.status(status).json(body);
    if (req.complete) send();
    else afterUnreadBody(req, res, send);
  }

  private describe(exception: unknown, req: Request): [number, ErrorBody] {
    if (exception instanceof MenagerieError) {
      return [statusFor(exception.code), { error: exception.code, message: exception.message, ...exception.details }];
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        status === HttpStatus.NOT_FOUND
          ? `no route for ${req.method} ${req.path}; see GET /engines and docs/api.md for the API`
          : typeof response === 'object' && response && 'message' in response
            ? String((response as { message: unknown }).message)
            : exception.message;
      return [status, { error: frameworkErrorCode(status, HttpStatus[status]), message }];
    }
    const correlationId = randomUUID();
    this.logger.error({ err: exception, correlationId, method: req.method, path: req.path }, 'unhandled error');
    return [
      HttpStatus.INTERNAL_SERVER_ERROR,
      { error: 'INTERNAL', message: `internal error; quote correlation id ${correlationId} to an operator`, correlationId },
    ];
  }
}
