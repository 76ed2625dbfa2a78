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
    })),
  };
  writeFileSync(file, JSON.stringify(body, null, 2));
  return file;
}

/** The shipped engines (confs/engines.json, as is) with `extra` engines (as engines.json spells them) after them. */
export function writeShippedEnginesFile(prefix: string, extra: object[]): string {
  const shipped = readFileSync(join(ROOT, 'confs/engines.json'), 'utf8');
  const patched = shipped.replace(/\]\s*\}\s*$/, `,\n${extra.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`);
  if (patched === shipped) throw new Error('could not extend confs/engines.json');
  const file = join(tempDir(prefix, { until: 'file' }), 'engines.json');
  writeFileSync(file, patched);
  return file;
}
