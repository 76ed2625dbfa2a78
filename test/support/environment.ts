import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import NodeEnvironment from 'jest-environment-node';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { removeQuietly, TEMP_DIRS_GLOBAL, type TempDirs } from './temp-dir';

/**
 * jest's Node environment, which also removes what the tests made under
 * os.tmpdir(): the directories of tempDir() (test/support/temp-dir.ts), each
 * once its test or its file is done, after their own hooks; and, when the file
 * is done, the output directories of the tool shells that the code under test
 * started in this process.
 */
export default class MenagerieEnvironment extends NodeEnvironment {
  private readonly dirs: TempDirs = { inTest: false, test: [], file: [] };

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.global[TEMP_DIRS_GLOBAL] = this.dirs;
  }

  handleTestEvent(event: Circus.Event): void {
    switch (event.name) {
      case 'test_start':
        this.dirs.inTest = true;
        break;
      case 'test_done':
      case 'test_skip':
      case 'test_todo':
        this.dirs.inTest = false;
        this.dirs.test.splice(0).forEach(removeQuietly);
        break;
    }
  }

  override async teardown(): Promise<void> {
    for (const dir of [...this.dirs.test.splice(0), ...this.dirs.file.splice(0), ...toolShellDirs()]) removeQuietly(dir);
    await super.teardown();
  }
}

/**
 * libs/storage's job volumes run mkfs, mount and umount through one ToolRunner
 * for the life of the process, whose shells keep their output in a
 * `menagerie-tools-*` directory that they never remove. A test process holds one
 * such runner per test file (each has a module registry of its own), which
 * nothing uses once the file is done. Its shells are children of this process,
 * run as `/bin/sh -c <script> menagerie-tools <dir>/out`; they go when it does.
 */
function toolShellDirs(): string[] {
  const dirs: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const dir = dirname(argv[4] ?? '');
      if (
        argv[0] === '/bin/sh' &&
        argv[3] === 'menagerie-tools' &&
        dirname(dir) === tmpdir() &&
        basename(dir).startsWith('menagerie-tools-')
      )
        dirs.push(dir);
    } catch {
      // gone meanwhile
    }
  }
  return dirs;
}
