import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { tempDir } from '../../../test/support/temp-dir';
import { MIN_VOLUME_BYTES } from './job-volume';
import { Scratch } from './scratch';

/** The directories of this process's tool shells, each run as `/bin/sh -c <script> menagerie-tools <dir>/out`. */
function toolShellDirs(): string[] {
  const dirs: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0] === '/bin/sh' && argv[3] === 'menagerie-tools' && argv[4]) dirs.push(dirname(argv[4]));
    } catch {
      // gone meanwhile
    }
  }
  return dirs;
}

describe('Scratch.close', () => {
  it("removes the directories of the shells that ran its volumes' tools; a Scratch of ofNode leaves them to it", async () => {
    const before = new Set(toolShellDirs());
    const scratch = new Scratch(tempDir('menagerie-scratch-'), {
      node: 'node-a',
      filesystem: 'loop',
      limitBytes: MIN_VOLUME_BYTES,
      spares: 1,
    });
    // Its probe runs mkfs and mount through the shells: without root the mount fails, and init with it.
    await scratch.init().catch(() => undefined);
    const dirs = toolShellDirs().filter((dir) => !before.has(dir));
    expect(dirs.length).toBeGreaterThan(0);
    expect(dirs.filter((dir) => existsSync(dir))).toEqual(dirs);

    await scratch.ofNode('node-b').close();
    expect(dirs.filter((dir) => existsSync(dir))).toEqual(dirs);

    await scratch.close();
    expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
  });
});
