import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { Settings } from '@menagerie/config';
import { MenagerieError } from '@menagerie/core';
import { sendError } from './error.mapper';

/** The cookie the console sets, so that pages, downloads and uploads from a browser carry the key. */
export const KEY_COOKIE = 'menagerie_api_key';

const PUBLIC_ROUTE = 'menagerie:public';

/**
 * Marks a controller or handler as open without a key. The guard reads it
 * from the route that matched the request, so only the routes marked, spelt
 * as they are registered (routing is case-sensitive and strict), are open.
 */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_ROUTE, true);

const digest = (value: string) => createHash('sha256').update(value).digest();

const HOW = 'send it as "X-API-Key: <key>" or "Authorization: Bearer <key>"';

function presentedKey(req: Request): string | null {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== KEY_COOKIE) continue;
    try {
      return decodeURIComponent(value.join('='));
    } catch {
      throw new MenagerieError('UNAUTHORIZED', `the ${KEY_COOKIE} cookie is not URL-encoded; enter the key again in the console, or ${HOW}`);
    }
  }
  return null;
}

/**
 * Optional API keys and a per-key rate limit. Keys are compared as SHA-256
 * digests with timingSafeEqual, against every configured key, so neither the
 * length nor the content of a near miss shows in the timing; keys are never
 * logged (the request logger records method and URL only, and keys are never
 * taken from the URL).
 */
export class ApiKeys {
  private readonly keys: Buffer[];
  private readonly perMinute: number;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(settings: Settings) {
    this.keys = settings.auth.apiKeys.map(digest);
    this.perMinute = settings.rateLimit.perMinute;
  }

  /** Throws UNAUTHORIZED or RATE_LIMITED (setting Retry-After) unless the request may go on. */
  check(req: Request, res: Response): void {
    // Without keys the API is open, and unlimited: limits are per key.
    if (!this.keys.length) return;
    const key = presentedKey(req);
    const candidate = digest(key ?? '');
    let match = false;
    for (const k of this.keys) match = timingSafeEqual(candidate, k) || match;
    if (!key || !match) throw new MenagerieError('UNAUTHORIZED', `an API key is required: ${HOW}`);
    if (this.perMinute > 0) this.count(candidate.toString('hex'), res);
  }

  private count(client: string, res: Response): void {
    const now = Date.now();
    let window = this.windows.get(client);
    if (!window || now - window.start >= 60_000) {
      window = { start: now, count: 0 };
      this.windows.set(client, window);
      if (this.windows.size > 10_000) for (const [k, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(k);
    }
    if (++window.count > this.perMinute) {
      res.setHeader('Retry-After', String(Math.ceil((window.start + 60_000 - now) / 1000)));
      throw new MenagerieError('RATE_LIMITED', `more than ${this.perMinute} requests in a minute; retry after the time in Retry-After`);
    }
  }

  /** The same check as Express middleware, for what is served outside Nest's router (the OpenAPI document and UI). */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      try {
        this.check(req, res);
      } catch (err) {
        if (!(err instanceof MenagerieError)) throw err;
        return sendError(res, err.code, err.message);
      }
      next();
    };
  }
}

/** Every route needs a key unless the route that matched is marked `@Public()`. */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeys,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const http = context.switchToHttp();
    this.keys.check(http.getRequest<Request>(), http.getResponse<Response>());
    return true;
  }
}
