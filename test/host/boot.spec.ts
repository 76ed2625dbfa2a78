import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeEnginesFile } from '../support/engines-file';
import { ROOT } from '../support/env';

/** A bad configuration stops either process at start, saying what is wrong. */
describe.each([
  ['api', 'apps/api/dist/main.js'],
  ['worker', 'apps/worker/dist/main.js'],
])('%s boot', (_name, entry) => {
  function boot(enginesFile: string) {
    return spawnSync(process.execPath, [join(ROOT, entry)], {
      env: { ...process.env, MENAGERIE_ENGINES_FILE: enginesFile, MENAGERIE_CONF_DIR: join(ROOT, 'confs') },
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  it('refuses an unknown runflag, naming the file, the engine and the flag', () => {
    const file = writeEnginesFile([{ name: 'odd', cmd: ['true'], runflags: ['--frobnicate', 'on'] }]);
    const run = boot(file);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toContain('engines[0] (odd).runflags: unknown flag "--frobnicate"');
  });

  it('refuses a dangerous runflag that default.json does not allow', () => {
    const file = writeEnginesFile([{ name: 'rooty', cmd: ['true'], runflags: ['--privileged'] }]);
    const run = boot(file);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('engines[0] (rooty).runflags: flag "--privileged" breaks containment');
  });
});
