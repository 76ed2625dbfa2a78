import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_FILE, compose, mountsOf } from '../support/compose';
import { ROOT } from '../support/env';
import { tempDir } from '../support/temp-dir';

// Compose itself reads the file: the docker-compose CLI (and Compose v2 where there is one). The rest: test/unit/compose*.spec.ts.

describe('docker-compose.yml', () => {
  it('declares the named volumes it uses, and Compose accepts the file (bash scripts/ensure-services.sh installs docker-compose)', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const { source } of mountsOf(s)) {
        if (source && !source.startsWith('/') && !source.startsWith('.')) {
          expect({ name, source, declared: Object.keys(compose.volumes ?? {}).includes(source) }).toEqual({ name, source, declared: true });
        }
      }
    }
    // Debian's docker-compose (1.29) is what the test command installs and the smoke test runs;
    // Compose v2 is checked as well where it is installed, or built (ensure_compose_v2).
    expect({ 'docker-compose': spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status }).toEqual({ 'docker-compose': 0 });
    const clis = [['docker-compose'], ['docker', 'compose'], [join(ROOT, '.cache', 'go', 'bin-compose', 'docker-compose')]].filter(
      ([cmd, ...args]) => spawnSync(cmd, [...args, 'version'], { stdio: 'ignore' }).status === 0,
    );
    // With no .env file, and with what a second deployment sets.
    const second = {
      COMPOSE_PROJECT_NAME: 'menagerie-second',
      MENAGERIE_DEPLOYMENT: 'menagerie-second',
      MENAGERIE_SCRATCH_DIR: '/srv/second/scratch',
      MENAGERIE_API_PUBLISHED_PORT: '18100',
      TEMPORAL_UI_PUBLISHED_PORT: '18233',
    };
    // An empty env file: a .env beside the compose file (a site's) plays no part.
    const envFile = join(tempDir('compose-spec-'), 'empty.env');
    writeFileSync(envFile, '');
    for (const [cmd, ...args] of clis) {
      for (const env of [{}, second]) {
        const run = spawnSync(cmd, [...args, '-f', COMPOSE_FILE, '--env-file', envFile, 'config', '-q'], {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, ...env },
        });
        expect({ cli: [cmd, ...args].join(' '), status: run.status, stderr: run.stderr }).toEqual({
          cli: [cmd, ...args].join(' '),
          status: 0,
          stderr: expect.any(String),
        });
      }
    }
  });
});
