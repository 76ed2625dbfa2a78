import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Temporary directories of the tests, each removed once its test, or its
 * test file, is done with it.
 *
 * tempDir() makes one under os.tmpdir(). Made during a test (its beforeEach
 * and afterEach hooks included), it goes when that test is done; made
 * anywhere else (a beforeAll, a describe body, a module's top level), when the
 * test file is. `until: 'file'` keeps one made in a test for the rest of the
 * file: what a process started in the test goes on reading (its settings,
 * the engines.json it watches).
 *
 * The test environment (test/support/environment.ts) does the removing, after
 * the test's or the file's own hooks. Hooks of this module could not: jest
 * refuses a hook declared inside a test or another hook, and one declared when
 * this module loads would run before the spec's own afterAll, the one that
 * stops the system still using the directory.
 */
export function tempDir(prefix: string, options: { until?: 'test' | 'file' } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const made = registry();
  if (!made) removeAtExit(dir);
  else if (made.inTest && options.until !== 'file') made.test.push(dir);
  else made.file.push(dir);
  return dir;
}

/**
 * Removes `dir` now, whoever owns what is in it: a container's files (another
 * uid, a remapped one) go as root does, and what is mounted under it (job
 * volumes a killed worker left, a tmpfs of a test's own) is unmounted first,
 * lazily, so that no removal stops at a busy mount or empties a volume another
 * directory still holds.
 */
export function removeDir(dir: string): void {
  for (const point of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // gone already, or not ours to unmount: the removal says which
    }
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** What the test environment removes: shared with it through the test file's global object. */
export interface TempDirs {
  /** Whether a test (or its beforeEach/afterEach) is running. */
  inTest: boolean;
  test: string[];
  file: string[];
}

export const TEMP_DIRS_GLOBAL = '__menagerieTempDirs';

function registry(): TempDirs | undefined {
  return (globalThis as Record<string, unknown>)[TEMP_DIRS_GLOBAL] as TempDirs | undefined;
}

/** Mount points at or under `dir`, from the kernel's own table (octal escapes, as for a space, decoded). */
function mountsUnder(dir: string): string[] {
  let table: string;
  try {
    table = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
}

/** Outside jest (a script using a support module), the directories go when the process ends. */
const atExit: string[] = [];
function removeAtExit(dir: string): void {
  if (atExit.length === 0) process.once('exit', () => atExit.forEach((d) => removeQuietly(d)));
  atExit.push(dir);
}

/** removeDir, saying on stderr what could not be removed rather than failing what was being torn down. */
export function removeQuietly(dir: string): void {
  try {
    removeDir(dir);
  } catch (err) {
    process.stderr.write(`could not remove the test directory ${dir}: ${(err as Error).message}\n`);
  }
}
