import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { run } from '../../../apps/cli/src/main';
import { job, json, stubFetch } from './fixtures';
import { tempDir } from '../../support/temp-dir';

/** The CLI in-process, with its output captured and the API stubbed. */
async function cli(argv: string[], answer: Parameters<typeof stubFetch>[0] = () => json(500, {}), env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream & PassThrough;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stub = stubFetch(answer);
  const code = await run(['node', 'menagerie', ...argv], { stdout, stderr, env, fetch: stub.fn });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), calls: stub.calls };
}

describe('menagerie (the command line)', () => {
  it('takes --url and --api-key before or after the command, over the environment', async () => {
    const env = { MENAGERIE_URL: 'http://env:1', MENAGERIE_API_KEY: 'env-key' };
    for (const argv of [
      ['--url', 'http://flag:2', '--api-key', 'k', 'status', 'x'],
      ['status', 'x', '--url', 'http://flag:2', '--api-key', 'k'],
    ]) {
      const { calls } = await cli(argv, () => json(200, job()), env);
      expect([calls[0].url.host, calls[0].headers['x-api-key']]).toEqual(['flag:2', 'k']);
    }
    const { calls } = await cli(['status', 'x'], () => json(200, job()), env);
    expect([calls[0].url.host, calls[0].headers['x-api-key']]).toEqual(['env:1', 'env-key']);
  });

  it('prints JSON only on stdout with --json', async () => {
    const { code, stdout } = await cli(['status', 'x', '--json'], () => json(200, job({ status: 'running' })));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(job({ status: 'running' }));
  });

  it("shows the server's error as one line and exits 1", async () => {
    const { code, stdout, stderr } = await cli(['jobs', '--engine', 'nope'], () =>
      json(400, { error: 'INVALID_QUERY', message: 'no engine nope' }),
    );
    expect([code, stdout, stderr]).toEqual([1, '', 'menagerie: INVALID_QUERY: no engine nope\n']);
  });

  it('exits 2 on a bad command line, asking nothing of the API', async () => {
    for (const argv of [
      ['submit', 'f'],
      ['jobs', '--limit', '0'],
      ['jobs', '--status', 'done'],
      ['bogus'],
      ['submit', 'f', '-e', 'a', '--concurrency', 'many'],
    ]) {
      const { code, stderr, calls } = await cli(argv);
      expect([argv, code]).toEqual([argv, 2]);
      expect(stderr).toMatch(/^menagerie: USAGE: /);
      expect(calls).toHaveLength(0);
    }
    expect((await cli(['--url', 'localhost:8100', 'engines'])).code).toBe(2);
  });

  it('stops sending a directory after an error every file would meet, and says it once', async () => {
    const dir = tempDir('menagerie-cli-');
    for (const name of ['a', 'b', 'c', 'd', 'e']) writeFileSync(join(dir, name), name);
    const unknown = { error: 'ENGINE_UNKNOWN', message: 'no engine named "nope"', engines: ['filemeta'] };
    const { code, stdout, stderr, calls } = await cli(['submit', dir, '--engine', 'nope', '--concurrency', '2'], () => json(404, unknown));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(calls.length).toBe(2); // the two in flight when the first answered
    expect(stderr).toBe('menagerie: ENGINE_UNKNOWN: no engine named "nope" (engines: filemeta)\n5 of 5 files not submitted\n');
  });

  it('goes on after an error of one file, naming it', async () => {
    const dir = tempDir('menagerie-cli-');
    for (const name of ['a', 'b', 'c']) writeFileSync(join(dir, name), name);
    let n = 0;
    const answer = () =>
      ++n === 2 ? json(400, { error: 'UPLOAD_EMPTY', message: 'empty' }) : json(201, job({ jobid: `job-${n}`, status: 'completed' }));
    const { code, stdout, stderr } = await cli(['submit', dir, '-e', 'filemeta', '-c', '1', '--json'], answer);
    expect(code).toBe(1);
    expect((JSON.parse(stdout) as object[]).map((i) => Object.keys(i).sort())).toEqual([
      ['file', 'job'],
      ['error', 'file'],
      ['file', 'job'],
    ]);
    expect(stderr).toBe(`menagerie: ${join(dir, 'b')}: UPLOAD_EMPTY: empty\n2 completed, 1 of 3 files not submitted\n`);
  });

  it('exits 0 for --help and --version', async () => {
    expect((await cli(['--help'])).code).toBe(0);
    const version = await cli(['--version']);
    expect([version.code, version.stdout]).toEqual([0, '0.1.0\n']);
  });
});
