import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/**
 * Runs system tools (mkfs, mount, umount) through one long-lived shell.
 *
 * Forking costs a process in proportion to its memory: a worker of 350 MB
 * spends about 6 ms of CPU and up to 30 ms of wall time in each spawn, and a
 * job used three. The shell is a few hundred kilobytes, so it forks the tools
 * for a fraction of that. Each shell runs one command at a time; each argument is quoted
 * for the shell, so none is ever parsed as shell syntax. A command that
 * outlives its timeout has the whole shell (its process group) killed, and
 * the next command starts a new one.
 */

/**
 * Each request: a line with its number, a line with the quoted command; the answer: "<number> <exit status>".
 * At the end of its input (our process is gone, without closing the runner) the shell removes its
 * directory itself; a shell we kill has it removed by stop().
 */
const SCRIPT = `
out="$1"
while IFS= read -r id && IFS= read -r cmd; do
  eval "$cmd" </dev/null >"$out" 2>&1
  echo "$id $?"
done
rm -rf -- "\${out%/*}"
`;

export interface ToolRunnerOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** How many shells, so how many commands at once (default 1). */
  shells?: number;
}

export class ToolError extends Error {
  override readonly name = 'ToolError';
}

/** The argument as one shell word, taken literally. */
export function shellQuote(arg: string): string {
  if (/[\n\r\0]/.test(arg)) throw new ToolError(`a tool argument may not hold a newline or NUL: ${JSON.stringify(arg)}`);
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

interface Pending {
  id: number;
  resolve: (status: number) => void;
  reject: (err: Error) => void;
}

type Process = ChildProcessByStdio<Writable, Readable, null>;

/** One shell, one command at a time. */
class ToolShell {
  private shell: Process | null = null;
  private outDir: string | null = null;
  private pending: Pending | null = null;
  private nextId = 1;

  constructor(private readonly options: ToolRunnerOptions) {}

  get pid(): number | undefined {
    return this.shell?.pid;
  }

  async send(file: string, args: string[], command: string): Promise<void> {
    const shell = this.start();
    const id = this.nextId++;
    const pipe = shell.stdout as unknown as { ref(): void; unref(): void };
    const status = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stop(new ToolError(`${file} ${args.join(' ')}: still running after ${this.options.timeoutMs} ms; killed`));
      }, this.options.timeoutMs);
      const settled = () => {
        clearTimeout(timer);
        this.pending = null;
        pipe.unref(); // idle, the shell keeps nothing alive
      };
      this.pending = { id, resolve: (s) => (settled(), resolve(s)), reject: (e) => (settled(), reject(e)) };
      pipe.ref(); // a command under way keeps the process alive until it answers
      shell.stdin.write(`${id}\n${command}\n`);
    });
    if (status !== 0) {
      let output = '';
      try {
        output = readFileSync(join(this.outDir!, 'out'), 'utf8').trim();
      } catch {
        // nothing to add
      }
      throw new ToolError(`${file} ${args.join(' ')}: ${output || `exited with status ${status}`}`);
    }
  }

  private start(): Process {
    if (this.shell) return this.shell;
    this.outDir = mkdtempSync(join(tmpdir(), 'menagerie-tools-'));
    // Its own process group, so that a timeout can kill the shell and whatever it runs at once.
    const shell = spawn('/bin/sh', ['-c', SCRIPT, 'menagerie-tools', join(this.outDir, 'out')], {
      env: this.options.env,
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    this.shell = shell;
    // It must not keep the process alive; with our end of stdin closed, it reads EOF and exits.
    shell.unref();
    (shell.stdin as unknown as { unref(): void }).unref();
    (shell.stdout as unknown as { unref(): void }).unref();
    shell.stdin.on('error', () => undefined);
    createInterface({ input: shell.stdout }).on('line', (line) => {
      const [id, status] = line.split(' ').map(Number);
      if (this.shell === shell && this.pending?.id === id) this.pending.resolve(status);
    });
    shell.on('exit', (code, signal) => {
      if (this.shell === shell) this.stop(new ToolError(`the tool shell exited (${signal ?? `status ${code}`})`));
    });
    shell.on('error', (err) => {
      if (this.shell === shell) this.stop(new ToolError(`the tool shell could not run: ${err.message}`));
    });
    return shell;
  }

  stop(reason: Error): void {
    const shell = this.shell;
    this.shell = null;
    if (shell?.pid) {
      try {
        process.kill(-shell.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.outDir) rmSync(this.outDir, { recursive: true, force: true });
    this.outDir = null;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(reason);
  }
}

/**
 * Up to `shells` commands at once (mkfs of one job's volume need not wait for
 * another's umount); more wait their turn.
 */
export class ToolRunner {
  private readonly idle: ToolShell[];
  private readonly all: ToolShell[];
  private readonly waiting: Array<(shell: ToolShell) => void> = [];

  constructor(private readonly options: ToolRunnerOptions) {
    this.all = Array.from({ length: Math.max(1, options.shells ?? 1) }, () => new ToolShell(options));
    this.idle = [...this.all];
  }

  /** Runs `file args…`; resolves when it exits 0, throws a ToolError with its output otherwise. */
  async run(file: string, args: string[]): Promise<void> {
    const command = [file, ...args].map(shellQuote).join(' ');
    const shell = this.idle.pop() ?? (await new Promise<ToolShell>((resolve) => this.waiting.push(resolve)));
    try {
      await shell.send(file, args, command);
    } finally {
      const next = this.waiting.shift();
      if (next) next(shell);
      else this.idle.push(shell);
    }
  }

  /** The shells' process ids (those running now). */
  get pids(): number[] {
    return this.all.flatMap((s) => (s.pid ? [s.pid] : []));
  }

  /**
   * Stops the shells and removes their directories (a command under way fails); a later run
   * starts new ones. The owner calls it when it is done with the runner.
   */
  close(): void {
    for (const shell of this.all) shell.stop(new ToolError('the tool runner was closed'));
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
