import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeEnginesFile } from '../support/engines-file';
import { ROOT } from '../support/env';
import { freePort } from '../support/ports';
import { startSystem, type System } from '../support/system';
import { tempDir } from '../support/temp-dir';

jest.setTimeout(600_000);

const KEY = 'cli-test-key-0123456789abcdef';
const BIN = join(ROOT, 'apps/cli/bin/menagerie.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  bytes: Buffer;
}

/**
 * The built CLI as a child process (its bin script), against the system.
 * Asynchronous: the API answers from this very process.
 */
function menagerie(args: string[], options: { env?: Record<string, string>; cwd?: string; key?: string | null } = {}): Promise<Run> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    MENAGERIE_URL: options.env?.MENAGERIE_URL ?? sys.baseUrl,
    ...options.env,
  };
  if (options.key !== null) env.MENAGERIE_API_KEY ??= options.key ?? KEY;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env, cwd: options.cwd ?? ROOT, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), bytes: stdout });
      },
    );
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim());

/** Distinct bytes each time, so no run is answered from the result cache. */
const unique = (label: string) => `${label} ${randomBytes(16).toString('hex')}\n`;

let sys: System;

describe('the menagerie CLI, through the real system', () => {
  beforeAll(async () => {
    // The CLI runs as built; building only it is quick and keeps the spec honest about the code it tests.
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'apps/cli'], { cwd: ROOT, stdio: 'inherit' });
    const enginesFile = writeEnginesFile([
      { name: 'filemeta', workers: 4, cmd: '/engine/run.sh', sizelimit: 1_000_000 },
      { name: 'broken', cmd: ['/usr/bin/false'], sizelimit: 1_000_000 },
      { name: 'slow', cmd: ['sh', '-c', 'sleep 60; cp /var/data/input /var/data/result'], timeout: 120 },
      { name: 'tiny', cmd: '/engine/run.sh', sizelimit: 1000 },
    ]);
    sys = await startSystem({ enginesFile, settings: { auth: { apiKeys: [KEY] } } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const api = (path: string, init: RequestInit = {}) => fetch(`${sys.baseUrl}${path}`, { ...init, headers: { 'x-api-key': KEY } });

  it('submits a directory (recursively) with --wait: three completed jobs, exit 0', async () => {
    const dir = tempDir('menagerie-cli-');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.txt'), unique('a'));
    writeFileSync(join(dir, 'b.txt'), unique('b'));
    writeFileSync(join(dir, 'sub', 'c.txt'), unique('c'));

    const run = await menagerie(['submit', dir, '--engine', 'filemeta', '--wait', '--concurrency', '2']);
    expect(run).toMatchObject({ code: 0 });
    const rows = lines(run.stdout);
    expect(rows).toHaveLength(3);
    for (const [i, name] of ['a.txt', 'b.txt', join('sub', 'c.txt')].entries()) {
      expect(rows[i]).toMatch(/^[0-9a-f-]{36}\s+filemeta\s+completed\s+/);
      expect(rows[i].endsWith(join(dir, name))).toBe(true);
    }
    expect(run.stderr).toContain('3 completed');
    // What it printed is what the API holds.
    for (const row of rows) {
      const job = (await (await api(`/result/${row.split(/\s+/)[0]}`)).json()) as { status: string };
      expect(job.status).toBe('completed');
    }
  });

  it('prints parseable JSON with --json, and only JSON on stdout', async () => {
    const file = join(tempDir('menagerie-cli-'), 'one.txt');
    writeFileSync(file, unique('json'));
    const submitted = await menagerie(['submit', file, '--engine', 'filemeta', '--wait', '--json']);
    expect(submitted.code).toBe(0);
    const items = JSON.parse(submitted.stdout) as { file: string; job: { jobid: string; status: string; engine: string } }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ file, job: { status: 'completed', engine: 'filemeta' } });
    const id = items[0].job.jobid;

    const status = await menagerie(['status', id, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ jobid: id, status: 'completed' });
    // Global options go before the command as well as after it.
    const jobs = await menagerie(['--json', 'jobs', '--engine', 'filemeta', '--limit', '2']);
    const page = JSON.parse(jobs.stdout) as { items: { jobid: string; engine: string }[] };
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((j) => j.engine === 'filemeta')).toBe(true);
    expect(page.items[0].jobid).toBe(id);
    const engines = JSON.parse((await menagerie(['engines', '--json'])).stdout) as { engines: { name: string }[] };
    expect(engines.engines.map((e) => e.name)).toEqual(['filemeta', 'broken', 'slow', 'tiny']);
  });

  it('fetches a result to the file the API names, to -o FILE and to stdout, byte for byte', async () => {
    const file = join(tempDir('menagerie-cli-'), 'sample.txt');
    writeFileSync(file, unique('fetch'));
    const submitted = await menagerie(['submit', file, '-e', 'filemeta', '-w', '--json']);
    const id = (JSON.parse(submitted.stdout) as { job: { jobid: string } }[])[0].job.jobid;
    const link = await api(`/link/${id}`);
    expect(link.status).toBe(200);
    const expected = Buffer.from(await link.arrayBuffer());
    const name = /filename="([^"]+)"/.exec(link.headers.get('content-disposition') ?? '')![1];

    const cwd = tempDir('menagerie-cli-fetch-');
    const fetched = await menagerie(['fetch', id], { cwd });
    expect(fetched).toMatchObject({ code: 0, stdout: '' });
    expect(readdirSync(cwd)).toEqual([name]);
    expect(readFileSync(join(cwd, name)).equals(expected)).toBe(true);

    // A second fetch does not overwrite what is there, unless asked.
    const again = await menagerie(['fetch', id], { cwd });
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toEqual([expect.stringMatching(/^menagerie: FILE_EXISTS: /)]);
    expect((await menagerie(['fetch', id, '--force'], { cwd })).code).toBe(0);

    const out = join(cwd, 'named.bin');
    const named = await menagerie(['fetch', id, '-o', out, '--json']);
    expect(JSON.parse(named.stdout)).toEqual({ jobid: id, file: out, bytes: expected.length });
    expect(readFileSync(out).equals(expected)).toBe(true);

    const piped = await menagerie(['fetch', id, '-o', '-']);
    expect(piped.code).toBe(0);
    expect(piped.bytes.equals(expected)).toBe(true);
  });

  it('exits non-zero when a job fails, for an upload and for a submission', async () => {
    const file = join(tempDir('menagerie-cli-'), 'bad.txt');
    writeFileSync(file, unique('broken'));
    const one = await menagerie(['submit', file, '--engine', 'broken', '--wait']);
    expect(one.code).toBe(1);
    expect(lines(one.stdout)).toEqual([expect.stringMatching(/^[0-9a-f-]{36}\s+broken\s+failed \(exit code 1.*\)\s+/)]);
    // One file: its status lines on stderr, ending with the final one.
    expect(one.stderr).toMatch(/: job [0-9a-f-]{36} \(broken\) failed\n/);

    const both = await menagerie(['submit', file, '--engines', 'filemeta,broken', '--wait', '--json']);
    expect(both.code).toBe(1);
    const [item] = JSON.parse(both.stdout) as {
      submission: { submissionId: string; status: string; jobs: { engine: string; status: string }[] };
    }[];
    expect(item.submission.status).toBe('completed_with_failures');
    expect(item.submission.jobs.map((j) => [j.engine, j.status])).toEqual([
      ['filemeta', 'completed'],
      ['broken', 'failed'],
    ]);
    // status finds a submission by its id.
    const status = await menagerie(['status', item.submission.submissionId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`submission: ${item.submission.submissionId}`);
    expect(status.stdout).toContain('completed_with_failures');
  });

  it('cancels a running job', async () => {
    const file = join(tempDir('menagerie-cli-'), 'slow.txt');
    writeFileSync(file, unique('slow'));
    const submitted = await menagerie(['submit', file, '--engine', 'slow', '--json']);
    expect(submitted.code).toBe(0);
    const id = (JSON.parse(submitted.stdout) as { job: { jobid: string } }[])[0].job.jobid;
    const cancelled = await menagerie(['cancel', id, '--json']);
    expect(cancelled.code).toBe(0);
    expect(['cancelled', 'queued', 'running']).toContain((JSON.parse(cancelled.stdout) as { status: string }).status);
    const final = (await (await api(`/result/${id}?wait=30`)).json()) as { status: string };
    expect(final.status).toBe('cancelled');
    const twice = await menagerie(['cancel', id]);
    expect(twice.code).toBe(1);
    expect(lines(twice.stderr)).toEqual([expect.stringMatching(/^menagerie: JOB_NOT_CANCELLABLE: /)]);
  });

  it("shows the server's error as one line on stderr and exits non-zero", async () => {
    const file = join(tempDir('menagerie-cli-'), 'x.txt');
    writeFileSync(file, unique('x'));
    const unknown = await menagerie(['submit', file, '--engine', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      'menagerie: ENGINE_UNKNOWN: no engine named "nope"; GET /engines lists them (engines: filemeta, broken, slow, tiny)\n',
    );

    // Over the sizelimit: the API refuses it from Content-Length (a file from disk has a known size) and
    // closes the connection; whether the 413 or the client's EPIPE comes first, the line says why.
    const big = join(tempDir('menagerie-cli-'), 'big.bin');
    writeFileSync(big, randomBytes(20_000_000));
    const large = await menagerie(['submit', big, '--engine', 'tiny']);
    expect(large.code).toBe(1);
    expect(lines(large.stderr)).toEqual([expect.stringMatching(/^menagerie: UPLOAD_TOO_LARGE: .*limit of 1000 bytes/)]);

    // In a directory, a file the API refuses is named, and the others still go.
    const mixed = tempDir('menagerie-cli-');
    writeFileSync(join(mixed, 'empty'), '');
    writeFileSync(join(mixed, 'full'), unique('full'));
    const partly = await menagerie(['submit', mixed, '--engine', 'filemeta']);
    expect(partly.code).toBe(1);
    expect(lines(partly.stdout)).toEqual([
      expect.stringMatching(new RegExp(`^[0-9a-f-]{36}\\s+filemeta\\s+\\S+.*\\s${join(mixed, 'full')}$`)),
    ]);
    expect(lines(partly.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^menagerie: ${join(mixed, 'empty')}: UPLOAD_EMPTY: `)),
      expect.stringMatching(/1 of 2 files not submitted/),
    ]);

    const notFound = await menagerie(['status', '3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90']);
    expect(notFound.code).toBe(1);
    expect(lines(notFound.stderr)).toEqual(['menagerie: NOT_FOUND: no job or submission has the id 3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90']);
    const badId = await menagerie(['fetch', 'not-a-uuid']);
    expect(lines(badId.stderr)).toEqual([expect.stringMatching(/^menagerie: INVALID_JOB_ID: /)]);

    const port = await freePort();
    const down = await menagerie(['engines'], { env: { MENAGERIE_URL: `http://127.0.0.1:${port}` } });
    expect(down.code).toBe(1);
    expect(lines(down.stderr)).toEqual([
      `menagerie: CONNECTION_FAILED: GET http://127.0.0.1:${port}/engines: ECONNREFUSED: connection refused`,
    ]);

    const usage = await menagerie(['submit', file]);
    expect(usage.code).toBe(2);
    expect(lines(usage.stderr)[0]).toMatch(/^menagerie: USAGE: say which engines/);
  });

  it('sends the API key: from MENAGERIE_API_KEY or --api-key; without it, the 401 as one line', async () => {
    const without = await menagerie(['engines'], { key: null });
    expect(without.code).toBe(1);
    expect(lines(without.stderr)).toEqual([expect.stringMatching(/^menagerie: UNAUTHORIZED: an API key is required/)]);
    const wrong = await menagerie(['engines', '--api-key', 'not-the-key-0123456789'], { key: null });
    expect(wrong.code).toBe(1);
    expect((await menagerie(['engines', '--api-key', KEY], { key: null })).code).toBe(0);
    const fromEnv = await menagerie(['engines']);
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toMatch(/^ENGINE\s+AVAILABLE/);
  });

  it('runs as `npx menagerie` from the repository (the bin entry of package.json)', async () => {
    expect(existsSync(BIN)).toBe(true);
    const version = (JSON.parse(readFileSync(join(ROOT, 'apps/cli/package.json'), 'utf8')) as { version: string }).version;
    const out = await new Promise<string>((resolve, reject) =>
      execFile('npx', ['--offline', 'menagerie', '--version'], { cwd: ROOT }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out.trim()).toBe(version);
  });
});
