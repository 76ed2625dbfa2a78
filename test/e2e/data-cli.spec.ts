import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../support/bundle-engines';
import { bundleDir } from '../support/bundles';
import { writeEnginesFile } from '../support/engines-file';
import { ROOT } from '../support/env';
import { body } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

const BIN = join(ROOT, 'apps/cli/bin/menagerie.js');

/** `menagerie data ...` data bundles from the command line, the built CLI against the real system. */
describe('menagerie data push and list', () => {
  let sys: System;

  function menagerie(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: { PATH: process.env.PATH ?? '', MENAGERIE_URL: sys.baseUrl } },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
  }
  const history = async () => (await body(await fetch(`${sys.baseUrl}/engines/rules/data`))).bundles[0].history as unknown[];

  beforeAll(async () => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'apps/cli'], { cwd: ROOT, stdio: 'inherit' });
    sys = await startSystem({ enginesFile: writeEnginesFile([RULES]) });
    await until('a node serving the engine', async () => (await body(await fetch(`${sys.baseUrl}/engines`))).engines[0].available);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("pushes a directory and prints the digest and the check's words; again, it says nothing changed; --json gives the API's answer", async () => {
    const dir = bundleDir({ 'a.yar': `rule ${randomUUID()}`, 'sub/b.yar': 'rule b' });
    const pushed = await menagerie(['data', 'push', 'rules', 'rules', dir]);
    expect(pushed).toMatchObject({ code: 0, stderr: '' });
    const [line, check] = pushed.stdout.trim().split('\n');
    expect(line).toMatch(/^rules rules: sha256:[0-9a-f]{64} \(2 files, \d+ B\) is current now$/);
    expect(check).toBe('  check: ok: 2 files');
    const digest = line.split(' ')[2];

    const again = await menagerie(['--json', 'data', 'push', 'rules', 'rules', dir]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ engine: 'rules', bundle: 'rules', digest, current: true, changed: false, files: 2 });

    const listed = await menagerie(['data', 'list', 'rules']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toBe(`rules (at /rules): ${digest}`);
    expect(listed.stdout).toMatch(new RegExp(`^  \\*  ${digest}  2 files`, 'm'));
  });

  it('refuses a directory with a symbolic link before sending anything, naming it', async () => {
    const before = (await history()).length;
    const dir = bundleDir({ 'a.yar': 'rule a' });
    symlinkSync('/etc/passwd', join(dir, 'passwd'));
    const refused = await menagerie(['data', 'push', 'rules', 'rules', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `menagerie: BAD_DATA_BUNDLE: ${dir}: "passwd": is a symbolic link; a bundle holds only regular files and directories; nothing was sent\n`,
    );
    expect(await history()).toHaveLength(before);
  });

  it("exits 1 with the engine's own message, every line of it, when its check refuses the version", async () => {
    const dir = bundleDir({ 'a.yar': 'rule a', BAD: 'line 1: unexpected }\nline 2: no rules compiled' });
    const refused = await menagerie(['data', 'push', 'rules', 'rules', dir]);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      'menagerie: DATA_BUNDLE_REFUSED: engine rules refused this rules bundle: its datacheck exited with code 1:\n' +
        '  line 1: unexpected }\n  line 2: no rules compiled\n',
    );
    const unknown = await menagerie(['data', 'push', 'rules', 'signatures', dir]);
    expect(unknown.stderr).toBe('menagerie: DATA_BUNDLE_UNKNOWN: engine rules has no data bundle named "signatures"; its bundles: rules\n');
  });
});
