import type { NextFunction, Request, Response } from 'express';
import { methodLabel, routeLabel, type ApiMetrics } from '@menagerie/metrics';

/**
 * Counts every request by method, route pattern and status, and times it,
 * when its answer ends (or the client leaves: "aborted"). Express middleware
 * rather than a Nest interceptor, so that what guards refuse (401, 429),
 * what no route takes (404) and the static console assets count too. The
 * route is read once the answer ended, when routing has set req.route.
 */
export function httpMetrics(metrics: ApiMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const startedAt = process.hrtime.bigint();
    res.once('close', () => {
      metrics.httpAnswered(methodLabel(req.method), routeLabel(req), res.writableFinished ? String(res.statusCode) : 'aborted', startedAt);
    });
    next();
  };
}
