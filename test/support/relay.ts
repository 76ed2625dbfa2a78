import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './ports';

/**
 * A TCP relay on a free loopback port to `target`: what a NAT or firewall
 * between a client and its server is. `cut()` makes every connection open
 * now stop forwarding without closing (a path that went silent), while new
 * connections forward as usual.
 */
export class TcpRelay {
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly silent = new Set<[Socket, Socket]>();
  private server: Server | null = null;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** The connections open now forward nothing more, either way, and are never closed: silent, as a dead path is. */
  cut(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.silent.add([client, upstream]);
    }
    this.pairs.clear();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.server?.close();
    for (const [client, upstream] of [...this.pairs, ...this.silent]) {
      client.destroy();
      upstream.destroy();
    }
  }
}

/** A TCP relay to the S3 service that a test can take down and bring back, on the same port. */
export class S3Relay {
  private server: Server | null = null;
  private readonly open = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(endpoint: string): Promise<S3Relay> {
    const url = new URL(endpoint);
    const relay = new S3Relay(await freePort(), { host: url.hostname, port: Number(url.port) });
    await relay.up();
    return relay;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get isUp(): boolean {
    return this.server !== null;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** The outage: new connections are refused, those in flight are cut. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.open) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
