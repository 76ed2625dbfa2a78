import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Settings } from '@menagerie/config';
import { sendError } from './error.mapper';

/** The cookie the console sets, so that pages, downloads and uploads from a browser carry the key. */
export const KEY_COOKIE = 'menagerie_api_key';

const digest = (value: string) => createHash('sha256').update(value).digest();

function presentedKey(req: Request): string | null {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === KEY_COOKIE) return decodeURIComponent(value.join('='));
  }
  return null;
}

/** The console's pages and assets hold no data; they may load without a key and ask for one. */
function isPublic(req: Request): boolean {
  if (req.path === '/health') return true;
  return req.method === 'GET' && req.path.startsWith('/console') && !req.path.startsWith('/console/api');
}

/**
 * Optional API keys and a per-key rate limit. Keys are compared as SHA-256
 * digests with timingSafeEqual, against every configured key, so neither the
 * length nor the content of a near miss shows in the timing; keys are never
 * logged (the request logger records method and URL only, and keys are never
 * taken from the URL).
 */
export function accessControl(settings: Settings) {
  const keys = settings.auth.apiKeys.map(digest);
  const perMinute = settings.rateLimit.perMinute;
  const windows = new Map<string, { start: number; count: number }>();

  return (req: Request, res: Response, next: NextFunction): void => {
    // Without keys the API is open, and unlimited: limits are per key.
    if (!keys.length || isPublic(req)) return next();
    const key = presentedKey(req);
    const candidate = digest(key ?? '');
    let match = false;
    for (const k of keys) match = timingSafeEqual(candidate, k) || match;
    if (!key || !match) {
      return sendError(res, 'UNAUTHORIZED', 'an API key is required: send it as "X-API-Key: <key>" or "Authorization: Bearer <key>"');
    }
    const client = candidate.toString('hex');
    if (perMinute > 0) {
      const now = Date.now();
      let window = windows.get(client);
      if (!window || now - window.start >= 60_000) {
        window = { start: now, count: 0 };
        windows.set(client, window);
        if (windows.size > 10_000) for (const [k, w] of windows) if (now - w.start >= 60_000) windows.delete(k);
      }
      if (++window.count > perMinute) {
        res.setHeader('Retry-After', String(Math.ceil((window.start + 60_000 - now) / 1000)));
        return sendError(res, 'RATE_LIMITED', `more than ${perMinute} requests in a minute; retry after the time in Retry-After`);
      }
    }
    next();
  };
}
