import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestEngine } from './engines-file';
import { ROOT } from './env';

/**
 * One of the two sample engines as confs/engines.json defines it (image,
 * command, runflags, limits), for tests that run the real engines; `overrides`
 * changes what a test needs otherwise (say, fewer workers).
 */
export function sampleEngine(name: 'apktool' | 'filemeta', overrides: Partial<TestEngine> = {}): TestEngine {
  // The file is the original format: {{uid}} stands unquoted where a number goes.
  const file = JSON.parse(readFileSync(join(ROOT, 'confs/engines.json'), 'utf8').replaceAll('{{uid}}', '0')) as {
    engines: Array<Required<TestEngine>>;
  };
  const engine = file.engines.find((e) => e.name === name);
  if (!engine) throw new Error(`confs/engines.json has no engine ${name}`);
  const { image, cmd, runflags, inputfilename, sizelimit, timeout, workers } = engine;
  return { name, image, cmd, runflags, inputfilename, sizelimit, timeout, workers, ...overrides };
}
