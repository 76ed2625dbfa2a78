import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectInputs } from '../../../apps/cli/src/files';
import { tempDir } from '../../support/temp-dir';

describe('collectInputs', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('menagerie-cli-files-');
  });

  it('walks directories recursively, in name order, regular files only', async () => {
    mkdirSync(join(dir, 'b', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'c.txt'), 'c');
    writeFileSync(join(dir, 'a.txt'), 'a');
    writeFileSync(join(dir, 'b', 'x.bin'), 'x');
    writeFileSync(join(dir, 'b', 'deeper', 'y.bin'), 'y');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(await collectInputs([dir])).toEqual({
      files: [join(dir, 'a.txt'), join(dir, 'b', 'deeper', 'y.bin'), join(dir, 'b', 'x.bin'), join(dir, 'c.txt')],
      problems: [],
    });
  });

  it('follows a link named on the command line, not one met inside a directory', async () => {
    const outside = tempDir('menagerie-cli-outside-');
    writeFileSync(join(outside, 'secret'), 's');
    writeFileSync(join(dir, 'real'), 'r');
    symlinkSync(join(outside, 'secret'), join(dir, 'link-to-file'));
    symlinkSync(outside, join(dir, 'link-to-dir'));
    symlinkSync(dir, join(dir, 'loop'));
    expect((await collectInputs([dir])).files).toEqual([join(dir, 'real')]);
    expect((await collectInputs([join(dir, 'link-to-file')])).files).toEqual([join(dir, 'link-to-file')]);
  });

  it('keeps the order of the arguments, takes a file once, and reports what it cannot read', async () => {
    writeFileSync(join(dir, 'one'), '1');
    writeFileSync(join(dir, 'two'), '2');
    const missing = join(dir, 'missing');
    const result = await collectInputs([join(dir, 'two'), dir, missing]);
    expect(result.files).toEqual([join(dir, 'two'), join(dir, 'one')]);
    expect(result.problems).toEqual([{ path: missing, reason: 'no such file or directory' }]);
  });

  it('reports a named special file', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(await collectInputs([join(dir, 'fifo')])).toEqual({
      files: [],
      problems: [{ path: join(dir, 'fifo'), reason: 'not a regular file or a directory' }],
    });
  });
});
