import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { docNodeVerifier } from './doc-verifiers';

/** A request a Receiver took. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
}

/** A webhook receiver on 127.0.0.1: records every request, and answers as `respond` says. */
export class Receiver {
  readonly requests: Received[] = [];
  private server: Server | null = null;
  port = 0;

  constructor(
    private readonly respond: (path: string, previous: Received[]) => { status: number; headers?: Record<string, string> } = () => ({
      status: 200,
    }),
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const delivery = req.headers['x-menagerie-delivery'];
        const { status, headers } = this.respond(
          path,
          this.requests.filter((r) => r.headers['x-menagerie-delivery'] === delivery),
        );
        this.requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status, headers).end(status >= 400 ? 'try later' : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** A port that refuses connections until `listen(port)`. */
  async reserve(): Promise<void> {
    await this.listen();
    await this.close();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  to(prefix: string): Received[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }
}

/** What the API docs tell a receiver to do, with their own Node verifier: `key` and the URL it was given (`base` + the request's path). */
export function verified(key: string, base: string, r: Received): boolean {
  return docNodeVerifier([{ key, url: `${base}${r.path}`, body: r.body, headers: r.headers }])[0] !== 'refused';
}

/** A delivery's JSON body. */
export const parsed = (r: Received) => JSON.parse(r.body) as Record<string, unknown> & { event: string; deliveryId: string };

/** Random bytes with a NUL: never in the cache. */
export const unique = () => Buffer.concat([Buffer.from([0]), randomBytes(199)]);
