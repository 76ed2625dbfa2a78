import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The methods HTTP metrics name; anything else is counted as OTHER, so a label value can't be made up by a client. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function methodLabel(method: string | undefined): string {
  const m = (method ?? '').toUpperCase();
  return METHODS.has(m) ? m : 'OTHER';
}

/**
 * The route a request matched, as registered (`/result/:id`, never the id
 * itself): Express sets `req.route` once a route matched, under the router's
 * `baseUrl`. A request no route took (a 404, an asset, a request refused
 * before routing) is "unmatched".
 */
export function routeLabel(req: { baseUrl?: string; route?: { path?: unknown } }): string {
  const path = req.route?.path;
  if (typeof path !== 'string') return 'unmatched';
  return `${req.baseUrl ?? ''}${path}` || '/';
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether a scrape may read the metrics (`authorization`: the request's
 * Authorization header). With a metrics token, only it, as
 * `Authorization: Bearer <token>`, so that Prometheus holds nothing that could
 * upload. Without one, but with API keys, an API key the same way: metrics
 * are never open on a deployment that closed its API. Open when neither is
 * set. Compared as digests, in constant time.
 */
export function metricsAuthorized(authorization: string | undefined, token: string, apiKeys: readonly string[] = []): boolean {
  const accepted = token ? [token] : apiKeys;
  if (!accepted.length) return true;
  const presented = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
  if (presented === '') return false;
  let match = false;
  for (const credential of accepted) match = timingSafeEqual(digest(presented), digest(credential)) || match;
  return match;
}

export const METRICS_UNAUTHORIZED = {
  error: 'UNAUTHORIZED',
  message:
    'the metrics need the metrics token (metrics.token) or, where none is set, an API key: send it as "Authorization: Bearer <token or key>"',
};

export interface MetricsServer {
  /** Where to scrape: http://<host>:<port>/metrics, with the port the OS chose when asked for 0. */
  url: string;
  port: number;
  /** Safe to call twice. */
  close(): Promise<void>;
}

export interface ServeOptions {
  host: string;
  /** 0: any free port (see MetricsServer.port). */
  port: number;
  token: string;
  /** The API keys (auth.apiKeys): without a token, one of them lets a scrape in (see metricsAuthorized). */
  apiKeys?: readonly string[];
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** A worker's metrics endpoint: GET /metrics on a port of its own, nothing else. */
export async function serveMetrics(options: ServeOptions): Promise<MetricsServer> {
  const server: Server = createServer((req: IncomingMessage, res) => {
    const json = (status: number, body: object) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return json(404, { error: 'NOT_FOUND', message: 'only GET /metrics is served here' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'METHOD_NOT_ALLOWED', message: 'GET /metrics' });
    if (!metricsAuthorized(req.headers.authorization, options.token, options.apiKeys)) return json(401, METRICS_UNAUTHORIZED);
    options.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => json(500, { error: 'INTERNAL', message: `could not collect the metrics: ${(err as Error).message}` }),
    );
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus keeps an idle scrape connection
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown =
    options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}/metrics`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
