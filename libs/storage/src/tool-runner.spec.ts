import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { tempDir } from '../../../test/support/temp-dir';
import { until } from '../../../test/support/until';
import { ToolError, ToolRunner, shellQuote } from './tool-runner';

const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

describe('ToolRunner', () => {
  let dir: string;
  let runner: ToolRunner;

  beforeEach(() => {
    dir = tempDir('tool-runner-');
    runner = new ToolRunner({ env, timeoutMs: 2000 });
  });
  afterEach(() => {
    runner.close();
  });

  it('runs a tool with its arguments taken literally, never as shell syntax', async () => {
    // Expanded by a shell, the name would hold a user name and lose its quotes, and `;` would end the command.
    const name = `it's $(id -un) ; "a b" \`id\` \\ $HOME *`;
    await runner.run('touch', [join(dir, name)]);
    expect(readdirSync(dir)).toEqual([name]);
  });

  it('answers each command in turn, also when many are asked at once', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run('sh', ['-c', `echo ${i} >> "$0"`, join(dir, 'log')])));
    expect(readFileSync(join(dir, 'log'), 'utf8').trim().split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('fails a tool that exits non-zero with what it printed, and goes on with the next', async () => {
    await expect(runner.run('sh', ['-c', 'echo "mount: /x: target is busy" >&2; exit 32'])).rejects.toThrow(
      /^sh -c .*: mount: \/x: target is busy$/,
    );
    await expect(runner.run('sh', ['-c', 'exit 3'])).rejects.toThrow(/exited with status 3/);
    await runner.run('true', []);
  });

  it('kills a tool that outlives its timeout, with the shell, and starts a new shell for the next', async () => {
    const group = () => runner.pids[0];
    await runner.run('true', []);
    const first = group();
    await expect(runner.run('sleep', ['30'])).rejects.toThrow(/^sleep 30: still running after 2000 ms; killed$/);
    // No process of the old group is left: not the shell, not its sleep.
    await until(
      'the killed process group is gone',
      async () => {
        try {
          process.kill(-first, 0);
          return false;
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'ESRCH';
        }
      },
      5000,
      50,
    );
    await runner.run('touch', [join(dir, 'next')]);
    expect(existsSync(join(dir, 'next'))).toBe(true);
    expect(group()).not.toBe(first);
  }, 15_000);

  it('recovers when its shell dies between commands', async () => {
    await runner.run('true', []);
    const [pid] = runner.pids;
    process.kill(pid, 'SIGKILL');
    await until('the shell is gone', async () => runner.pids.length === 0, 5000, 20);
    await runner.run('touch', [join(dir, 'after')]);
    expect(existsSync(join(dir, 'after'))).toBe(true);
  });

  it('runs as many commands at once as it has shells, and no more', async () => {
    const three = new ToolRunner({ env, timeoutMs: 5000, shells: 3 });
    try {
      // Each command holds its shell until the file it waits for exists; the fourth waits for a free shell.
      const gate = join(dir, 'gate');
      const started = (i: number) => join(dir, `started-${i}`);
      const runs = [0, 1, 2, 3].map((i) =>
        three.run('sh', ['-c', `touch "$0"; while [ ! -e "$1" ]; do sleep 0.02; done`, started(i), gate]),
      );
      await until('three commands under way', async () => [0, 1, 2, 3].filter((i) => existsSync(started(i))).length === 3, 5000, 20);
      expect([0, 1, 2, 3].filter((i) => existsSync(started(i)))).toEqual([0, 1, 2]);
      writeFileSync(gate, '');
      await Promise.all(runs);
      expect(existsSync(started(3))).toBe(true);
    } finally {
      three.close();
    }
  });

  describe('its temporary directories', () => {
    let tmp: string;
    beforeEach(() => {
      tmp = tempDir('tool-runner-tmp-');
    });

    it('are removed when it is closed (disposed), and made anew by a later run', async () => {
      // Each shell runs as `/bin/sh -c <script> menagerie-tools <dir>/out`.
      const dirsOf = (r: ToolRunner) => r.pids.map((pid) => dirname(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[4]));
      const three = new ToolRunner({ env, timeoutMs: 5000, shells: 3 });
      await Promise.all([0, 1, 2].map(() => three.run('sleep', ['0.1'])));
      const dirs = dirsOf(three);
      expect(dirs).toHaveLength(3);
      for (const d of dirs) expect(basename(d)).toMatch(/^menagerie-tools-/);
      expect(dirs.filter((d) => existsSync(d))).toEqual(dirs);
      three[Symbol.dispose]();
      expect(dirs.filter((d) => existsSync(d))).toEqual([]);
      await three.run('true', []);
      const [again] = dirsOf(three);
      expect(existsSync(again)).toBe(true);
      three.close();
      expect(existsSync(again)).toBe(false);
    });

    it('are removed by the shells themselves when the process ends without closing it', async () => {
      // A process of its own that runs a command and exits, the runner left open (a crash, process.exit);
      // its temporary files go under `tmp` (os.tmpdir() follows TMPDIR).
      const script = `
        const swc = require('@swc/core');
        require.extensions['.ts'] = (m, file) =>
          m._compile(swc.transformFileSync(file, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }).code, file);
        const { ToolRunner } = require(${JSON.stringify(require.resolve('./tool-runner'))});
        const runner = new ToolRunner({ env: ${JSON.stringify(env)}, timeoutMs: 5000, shells: 2 });
        Promise.all([runner.run('sleep', ['0.1']), runner.run('sleep', ['0.1'])]).then(() => {
          console.log(require('node:fs').readdirSync(require('node:os').tmpdir()).length);
          process.exit(0);
        });
      `;
      const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      expect(out.trim()).toBe('2'); // its two shells' directories, as it exits
      await until('the shells have removed their directories', async () => readdirSync(tmp).length === 0, 5000, 20);
    }, 15_000);
  });

  it('refuses an argument that would break the line protocol', () => {
    expect(() => shellQuote('a\nb')).toThrow(ToolError);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
