import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './error.mapper';

/** Bodies other than uploads are small JSON; anything bigger is refused before it is read. */
export const JSON_BODY_LIMIT = '64kb';

/** An API answers with data, never with something to render or frame. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** Swagger UI loads its own scripts and styles from /docs. */
const DOCS_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  // The console sets its own, stricter page policy in its module.
  res.setHeader('Content-Security-Policy', req.path.startsWith('/docs') ? DOCS_CSP : API_CSP);
  next();
}

/** Body-parser failures (too large, malformed JSON) answer in the API's JSON error shape. */
function bodyErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const e = err as { type?: string; status?: number; limit?: number } | undefined;
  if (e?.type === 'entity.too.large') {
    res.setHeader('Connection', 'close');
    sendError(res, 'BODY_TOO_LARGE', `request bodies other than uploads are limited to ${JSON_BODY_LIMIT}`);
    return;
  }
  if (e?.type === 'entity.parse.failed') {
    sendError(res, 'MALFORMED_BODY', 'the request body is not valid JSON');
    return;
  }
  next(err);
}

/** C0 and C1 control characters, DEL and NUL included: no query parameter has a use for them. */
const CONTROL = /\p{Cc}/u;

function hasControl(value: unknown): boolean {
  if (typeof value === 'string') return CONTROL.test(value);
  if (Array.isArray(value)) return value.some(hasControl);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => CONTROL.test(k) || hasControl(v));
  return false;
}

/** Refuses a query string holding control characters (a NUL would reach PostgreSQL), for every route at once. */
function queryCharacters(req: Request, res: Response, next: NextFunction): void {
  if (hasControl(req.query)) {
    sendError(res, 'INVALID_QUERY', 'query parameters must not contain control characters (such as %00)');
    return;
  }
  next();
}

export function hardenHttp(app: NestExpressApplication): void {
  app.use(securityHeaders);
  app.use(queryCharacters);
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: JSON_BODY_LIMIT, extended: false });
  app.use(bodyErrors);
}
