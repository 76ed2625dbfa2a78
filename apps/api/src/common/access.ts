import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { Settings } from '@menagerie/config';
import type { RateWindow } from '@menagerie/db';
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
      throw new MenagerieError(
        'UNAUTHORIZED',
        `the ${KEY_COOKIE} cookie is not URL-encoded; enter the key again in the console, or ${HOW}`,
      );
    }
  }
  return null;
}

/** Where a key's requests of the current minute are counted: shared by every API replica (RateLimitRepository). */
export interface RateCounter {
  hit(client: string): Promise<RateWindow>;
}

/**
 * Optional API keys and a per-key rate limit. Keys are compared as SHA-256
 * digests with timingSafeEqual, against every configured key, so neither the
 * length nor the content of a near miss shows in the timing; keys are never
 * logged (the request logger records method and URL only, and keys are never
 * taken from the URL). The limit is a fixed window of a minute per key,
 * counted in PostgreSQL, so it holds across all replicas behind HAProxy.
 */
export class ApiKeys {
  private readonly keys: Buffer[];
  private readonly perMinute: number;
  private readonly unauthenticatedPerMinute: number;

  constructor(
    settings: Settings,
    private readonly counter: RateCounter,
  ) {
    this.keys = settings.auth.apiKeys.map(digest);
    this.perMinute = settings.rateLimit.perMinute;
    this.unauthenticatedPerMinute = settings.rateLimit.unauthenticatedPerMinute;
  }

  /** Whether keys are required (and so whether requests are counted). */
  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** Throws UNAUTHORIZED or RATE_LIMITED (setting Retry-After) unless the request may go on. */
  async check(req: Request, res: Response): Promise<void> {
    // Without keys the API is open, and unlimited: limits are per key.
    if (!this.keys.length) return;
    const key = presentedKey(req);
    const candidate = digest(key ?? '');
    let match = false;
    for (const k of this.keys) match = timingSafeEqual(candidate, k) || match;
    if (!key || !match) {
      // Guessing keys, or flooding without one, is limited by the client's address (req.ip: see api.trustedProxies).
      const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      if (this.unauthenticatedPerMinute > 0)
        await this.count(
          digest(`address:${address}`).toString('hex'),
          res,
          this.unauthenticatedPerMinute,
          'without a valid key from this address',
        );
      throw new MenagerieError('UNAUTHORIZED', `an API key is required: ${HOW}`);
    }
    if (this.perMinute > 0) await this.count(candidate.toString('hex'), res, this.perMinute, 'for this key');
  }

  private async count(client: string, res: Response, perMinute: number, whose: string): Promise<void> {
    let window: RateWindow;
    try {
      window = await this.counter.hit(client);
    } catch {
      // A database that does not answer is the request's own to report (uploads say so): the limit is not a reason to refuse.
      return;
    }
    if (window.count > perMinute) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((window.resetAt.getTime() - Date.now()) / 1000))));
      throw new MenagerieError(
        'RATE_LIMITED',
        `more than ${perMinute} requests in a minute ${whose} (across every API replica); retry after the time in Retry-After`,
      );
    }
  }

  /** The same check as Express middleware, for what is served outside Nest's router (the OpenAPI document and UI). */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      this.check(req, res).then(
        () => next(),
        (err: unknown) => {
          if (!(err instanceof MenagerieError)) return next(err);
          sendError(res, err.code, err.message);
        },
      );
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

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const http = context.switchToHttp();
    await this.keys.check(http.getRequest<Request>(), http.getResponse<Response>());
    return true;
  }
}
