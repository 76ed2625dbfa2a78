import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { MenagerieConfig } from '@menagerie/config';
import { ROOT, TEMPORAL_BIN } from './env';
import { until } from './until';

/**
 * Real processes a fault test can crash, stop and restart: the API and the
 * worker as built (dist/, which scripts/test.sh builds first), a Temporal dev
 * server with its state in a file, and a PostgreSQL cluster of the test's own.
 */

/**
 * A temporary directory named after this jest process, so that
 * sweepLeftovers() can tell this run's (and dead runs') leftovers from those
 * of a run going on beside it.
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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A child process whose output is kept, to be shown when a test fails. */
export class Managed {
  private child: ChildProcess | null = null;
  private output = '';
  private exit: Promise<void> = Promise.resolve();
  /** How the last run ended: an exit code, or the signal that ended it. */
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): this {
    if (this.child) throw new Error(`${this.name} is already running`);
    const child = spawn(this.command, this.args, { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = null;
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      }),
    );
    void this.exit.then(() => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    return this;
  }

  /** Sends the signal and waits for the process to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
    this.child = null;
  }

  logs(): string {
    return this.output;
  }
}

/**
 * The environment that points a built API or worker at the same services as
 * `config`, and makes it the same deployment: every setting goes over, in a
 * default.json of its own (a worker process with the default deployment name
 * would sweep the containers of a Menagerie running on this host).
 */
export function appEnv(config: MenagerieConfig, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const s = config.settings;
  const defaults = join(mkdtempSync(join(tmpdir(), 'menagerie-settings-')), 'default.json');
  writeFileSync(defaults, JSON.stringify({ ...s, storage: { ...s.storage, dir: config.storageDir } }, null, 2));
  return {
    MENAGERIE_DEFAULTS_FILE: defaults,
    MENAGERIE_ENGINES_FILE: config.files.engines,
    TEMPORAL_ADDRESS: s.temporal.address,
    TEMPORAL_NAMESPACE: s.temporal.namespace,
    MENAGERIE_DB_HOST: s.database.host,
    MENAGERIE_DB_PORT: String(s.database.port),
    MENAGERIE_DB_USER: s.database.user,
    MENAGERIE_DB_PASSWORD: s.database.password,
    MENAGERIE_DB_NAME: s.database.database,
    MENAGERIE_STORAGE_DIR: config.storageDir,
    DOCKER_SOCKET: s.docker.socketPath,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** The built worker (apps/worker/dist), as its own process. */
export async function startWorkerProcess(config: MenagerieConfig): Promise<Managed> {
  const worker = new Managed('worker', process.execPath, [join(ROOT, 'apps/worker/dist/main.js')], appEnv(config)).start();
  await until('worker ready', async () => {
    if (!worker.running) throw new Error(`worker exited:\n${worker.logs()}`);
    return worker.logs().includes('worker ready');
  });
  return worker;
}

/** The built API (apps/api/dist), as its own process, on the given port. */
export function apiProcess(config: MenagerieConfig, port: number): Managed {
  return new Managed(
    'api',
    process.execPath,
    [join(ROOT, 'apps/api/dist/main.js')],
    appEnv(config, {
      MENAGERIE_API_HOST: '127.0.0.1',
      MENAGERIE_API_PORT: String(port),
      MENAGERIE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    }),
  );
}

export async function startApiProcess(api: Managed, port: number): Promise<void> {
  api.start();
  await until('API answering', async () => {
    if (!api.running) throw new Error(`API exited:\n${api.logs()}`);
    return (await fetch(`http://127.0.0.1:${port}/engines`)).ok;
  });
}

/** The built API as its own process on a free port, answering: what the fault tests that kill the API start from. */
export async function apiOnFreePort(config: MenagerieConfig): Promise<{ api: Managed; port: number; base: string }> {
  const port = await freePort();
  const api = apiProcess(config, port);
  await startApiProcess(api, port);
  return { api, port, base: `http://127.0.0.1:${port}` };
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
