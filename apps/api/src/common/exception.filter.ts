import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { MenagerieError } from '@menagerie/core';
import { statusFor } from './error.mapper';

export interface ErrorBody {
  error: string;
  message: string;
  correlationId?: string;
  [key: string]: unknown;
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
    if (!req.complete) {
      // The rest of the body is never read (too large, aborted, store full, ...): close the
      // connection rather than drain it, so no client reuses a socket with bytes in flight.
      res.setHeader('Connection', 'close');
    }
    res.status(status).json(body);
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
          ? `no route for ${req.method} ${req.path}; see GET /engines and the README for the API`
          : typeof response === 'object' && response && 'message' in response
            ? String((response as { message: unknown }).message)
            : exception.message;
      return [status, { error: HttpStatus[status] ?? 'ERROR', message }];
    }
    const correlationId = randomUUID();
    this.logger.error({ err: exception, correlationId, method: req.method, path: req.path }, 'unhandled error');
    return [
      HttpStatus.INTERNAL_SERVER_ERROR,
      { error: 'INTERNAL', message: `internal error; quote correlation id ${correlationId} to an operator`, correlationId },
    ];
  }
}
