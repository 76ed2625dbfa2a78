import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './env';
import { tempDir } from './temp-dir';

export interface TestEngine {
  name: string;
  cmd: string | string[];
  timeout?: number;
  workers?: number;
  sizelimit?: number;
  image?: string;
  runflags?: string[];
  inputfilename?: string;
  /** The optional fields beyond the original format. */
  cachettl?: number;
  accepts?: string;
  rejects?: string;
  /** Data bundles (name -> mount point) and their check. */
  data?: Record<string, string>;
  datacheck?: string | string[];
}

/**
 * Writes an engines.json of small engines built on the filemeta image, for tests. It stays until the test
 * file is done: a worker started with it watches it for as long as it runs.
 */
export function writeEnginesFile(engines: TestEngine[]): string {
  const file = join(tempDir('menagerie-engines-', { until: 'file' }), 'engines.json');
  const body = {
    engines: engines.map((e) => ({
      name: e.name,
      workers: e.workers ?? 2,
      image: e.image ?? '{{regserver}}/filemeta:stable',
      runflags: e.runflags ?? [],
      cmd: e.cmd,
      mountpoint: '/var/data',
      sizelimit: e.sizelimit ?? 1_000_000,
      inputfilename: e.inputfilename ?? 'input',
      user: '{{uid}}',
      timeout: e.timeout ?? 60,
      ...(e.cachettl !== undefined ? { cachettl: e.cachettl } : {}),
      ...(e.accepts ? { accepts: e.accepts } : {}),
      ...(e.rejects ? { rejects: e.rejects } : {}),
      ...(e.data ? { data: e.data } : {}),
      ...(e.datacheck ? { datacheck: e.datacheck } : {}),
    })),
  };
  writeFileSync(file, JSON.stringify(body, null, 2));
  return file;
}

/** The two sample engines of confs/engines.json; the rest of the catalogue is tested on its own (test/engines, test/e2e/catalogue.spec.ts). */
export const SAMPLE_ENGINES = ['apktool', 'filemeta'];

/**
 * Engines of confs/engines.json as they are shipped (`only` of them, by
 * default the two sample engines), with `extra` engines (as engines.json
 * spells them) after them. The file keeps the original format: `{{uid}}`
 * stands unquoted where a number goes.
 */
export function writeShippedEnginesFile(prefix: string, extra: object[], only: readonly string[] = SAMPLE_ENGINES): string {
  const shipped = readFileSync(join(ROOT, 'confs/engines.json'), 'utf8');
  // Each engine is an object of its own in the file's top-level array; {{uid}} is made a string to parse it, and put back.
  const { engines } = JSON.parse(shipped.replaceAll('{{uid}}', '"{{uid}}"')) as { engines: Array<{ name: string }> };
  const kept = engines.filter((e) => only.includes(e.name));
  if (kept.length !== only.length) throw new Error(`confs/engines.json lacks some of ${only.join(', ')}`);
  const body = [...kept, ...extra].map((e) => JSON.stringify(e).replaceAll('"{{uid}}"', '{{uid}}'));
  const file = join(tempDir(prefix, { until: 'file' }), 'engines.json');
  writeFileSync(file, `{"engines": [\n${body.join(',\n')}\n]}\n`);
  return file;
}
