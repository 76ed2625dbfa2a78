import type { NextFunction, Request, Response } from 'express';

/**
 * The console's pages load only their own scripts and styles: no inline
 * script or style, nothing from another origin, no framing, no plugins.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * What the console changes in the headers every answer gets (common/http-hardening.ts):
 * its page policy, and a referrer kept within the site. Set on every console response,
 * pages and JSON alike (errors included: they are set before the handler runs).
 */
export function consoleSecurityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('Referrer-Policy', 'same-origin');
  next();
}
