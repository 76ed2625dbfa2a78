import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { TEMPORAL_BIN } from './env';
import { freePort } from './ports';
import { Managed } from './processes';
import { until } from './until';

/**
 * Services of a fault test's own, to stop and start again without touching
 * the shared ones: a Temporal dev server with its state in a file, a
 * PostgreSQL cluster, and a stand-in for the Docker daemon's socket.
 */

/**
 * A temporary directory named after this jest process, so that
 * sweepLeftovers() can tell this run's (and dead runs') leftovers from those
 * of a run going on beside it. Not a tempDir (temp-dir.ts): what runs in one
 * (a PostgreSQL cluster of the postgres user, a tmpfs) must be stopped before
 * its files go, which destroy() and sweepLeftovers() do.
 */
export function scratchDir(kind: 'temporal' | 'pg' | 'docker' | 'full'): string {
  return mkdtempSync(join(tmpdir(), `menagerie-${kind}-${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the PostgreSQL clusters and unmounts the tmpfs stores that fault tests
 * of this run, or of runs that were killed, left behind; removes their files.
 */
export function sweepLeftovers(): void {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  for (const name of readdirSync(tmpdir())) {
    const m = /^menagerie-(temporal|pg|docker|full)-(\d+)-/.exec(name);
    if (!m || (Number(m[2]) !== process.pid && alive(Number(m[2])))) continue;
    const dir = join(tmpdir(), name);
    if (m[1] === 'pg' && existsSync(join(dir, 'data', 'postmaster.pid'))) {
      try {
        execFileSync(
          'runuser',
          ['-u', 'postgres', '--', join(postgresBin(), 'pg_ctl'), '-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'],
          { stdio: 'ignore', cwd: '/tmp' },
        );
      } catch {
        // not running after all
      }
    }
    if (mounts.includes(` ${dir} `)) execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Temporal dev server keeping its state in a file, so it can be stopped and started again. */
export class TemporalServer {
  readonly dir = scratchDir('temporal');
  private readonly proc: Managed;

  private constructor(readonly port: number) {
    this.proc = new Managed('temporal', TEMPORAL_BIN, [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--db-filename',
      join(this.dir, 'temporal.db'),
      '--log-level',
      'error',
    ]);
  }

  static async start(): Promise<TemporalServer> {
    const server = new TemporalServer(await freePort());
    try {
      await server.restart();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.proc.start();
    await until(
      'Temporal dev server answering',
      async () => {
        if (!this.proc.running) throw new Error(`temporal exited:\n${this.proc.logs()}`);
        // The CLI answers once the frontend serves the default namespace. Asynchronously,
        // so the workers in this process go on heartbeating meanwhile.
        await new Promise<void>((resolve, reject) =>
          execFile(
            TEMPORAL_BIN,
            ['operator', 'namespace', 'describe', '--address', this.address, '-n', 'default'],
            { timeout: 10_000 },
            (err) => (err ? reject(err) : resolve()),
          ),
        );
        return true;
      },
      60_000,
      500,
    );
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.proc.stop(signal);
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  return join('/usr/lib/postgresql', versions[versions.length - 1], 'bin');
}

/**
 * A PostgreSQL cluster of the test's own, so stopping it touches nothing
 * else. initdb refuses root, so the cluster belongs to the postgres user.
 */
export class PostgresCluster {
  readonly dir = scratchDir('pg');
  private readonly data = join(this.dir, 'data');
  private readonly bin = postgresBin();
  readonly user = 'menagerie';
  readonly password = 'menagerie';
  readonly database = 'menagerie';

  private constructor(readonly port: number) {}

  static async create(): Promise<PostgresCluster> {
    const cluster = new PostgresCluster(await freePort());
    try {
      await cluster.init();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  private async init(): Promise<void> {
    chownSync(this.dir, idOf('-u'), idOf('-g'));
    mkdirSync(this.data, { mode: 0o700 });
    chownSync(this.data, idOf('-u'), idOf('-g'));
    const pwfile = join(this.dir, 'pw');
    writeFileSync(pwfile, this.password);
    chownSync(pwfile, idOf('-u'), idOf('-g'));
    this.asPostgres('initdb', ['-D', this.data, '-U', this.user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8']);
    rmSync(pwfile);
    await this.start();
    const client = new Client({ ...this.connection, database: 'postgres' });
    await client.connect();
    await client.query(`CREATE DATABASE ${this.database}`);
    await client.end();
  }

  get connection() {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password, database: this.database };
  }

  private asPostgres(tool: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(this.bin, tool), ...args], { stdio: 'ignore', cwd: '/tmp' });
  }

  async start(): Promise<void> {
    this.asPostgres('pg_ctl', [
      '-D',
      this.data,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${this.port} -c unix_socket_directories=${this.dir}`,
      'start',
    ]);
  }

  /** Fast shutdown: open sessions are cut, as when the server goes away. */
  async stop(): Promise<void> {
    this.asPostgres('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      this.asPostgres('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres']).toString().trim());
}

/**
 * A stand-in for the Docker daemon's socket that forwards to the real one and
 * can be taken down: the system under test sees a daemon that stops answering
 * and comes back, while the machine's dockerd keeps serving everything else.
 */
export class DockerSocketProxy {
  readonly path = join(scratchDir('docker'), 'docker.sock');
  private server: Server | null = null;
  private readonly open = new Set<Socket>();

  constructor(private readonly target = '/var/run/docker.sock') {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const daemon = connect(this.target);
      for (const s of [client, daemon]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(daemon).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    this.server = server;
  }

  /** Stops answering, cutting the connections in flight (the socket file goes too). */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.open) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
