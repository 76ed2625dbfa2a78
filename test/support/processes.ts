import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MenagerieConfig } from '@menagerie/config';
import { ROOT } from './env';
import { freePort } from './ports';
import { tempDir } from './temp-dir';
import { until } from './until';

/**
 * Real processes a fault test can crash, stop and restart: the API and the
 * worker as built (dist/, which scripts/test.sh builds first). The services a
 * test can take away (a Temporal dev server, a PostgreSQL cluster, the Docker
 * socket) are in fault-services.ts.
 */

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
 * would sweep the containers of a Menagerie running on this host). The
 * process's temporary files go in the same directory (TMPDIR): a worker's
 * tool shells keep their output there and never remove it.
 */
export function appEnv(config: MenagerieConfig, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const s = config.settings;
  // Kept for the rest of the test file: a process started in a test may be restarted in another.
  const dir = tempDir('menagerie-settings-', { until: 'file' });
  const defaults = join(dir, 'default.json');
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
    TMPDIR: dir,
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
