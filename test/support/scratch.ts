import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Scratch, type JobDirOptions } from '@menagerie/storage';
import { from } from './streams';
import { tempDir } from './temp-dir';

/** A node's scratch (node-a) on a temporary directory of the test's own, initialised. */
export async function newScratch(
  options: Omit<JobDirOptions, 'node'> = { filesystem: 'plain', limitBytes: 1024 ** 3 },
  prefix = 'menagerie-scratch-',
): Promise<Scratch> {
  const scratch = new Scratch(tempDir(prefix), { node: 'node-a', ...options });
  await scratch.init();
  return scratch;
}

/** Stages `input` for a new job, owned by 1000:1000; answers the job's id. */
export async function staged(scratch: Scratch, input = 'x'): Promise<string> {
  const id = randomUUID();
  await scratch.stage(id, 'in', '1000:1000', from(input));
  return id;
}

/** Mount points under `dir`, from the kernel's own table. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && point.startsWith(dir));
}

// Loop devices need root; where there are none, the worker refuses to start (see Scratch.init), and tests of them cannot run.
export const canMount = process.getuid?.() === 0 && existsSync('/dev/loop-control');
