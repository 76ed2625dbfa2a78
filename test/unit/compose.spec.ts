import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ENV_VARS, loadConfig, readEnv } from '@menagerie/config';
import {
  type Env,
  load,
  compose,
  service,
  envOf,
  mountsOf,
  portsOf,
  dependsOn,
  isRoot,
  url,
  APP_SERVICES,
  pinned,
  dockerfileStages,
} from '../support/compose';
import { ROOT } from '../support/env';

// docker-compose.yml (parsed in test/support/compose.ts): its services, images, privileges, ports and settings.
// The backends, health and restarts: compose-services.spec.ts; Compose's own check: test/host/compose-cli.spec.ts.

describe('docker-compose.yml', () => {
  it('has every service the deployment needs', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 's3', 'api', 'worker']));
  });

  it('pulls no image: each service runs one built here, at the version the build pins', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect({ name, pull_policy: s.pull_policy }).toEqual({ name, pull_policy: 'never' });
    }
    const versions = ['TEMPORAL_SERVER_VERSION', 'TEMPORAL_UI_VERSION', 'POSTGRES_MAJOR', 'SEAWEEDFS_VERSION'].map(pinned);
    expect(versions.every(Boolean)).toBe(true);
    const [temporal, ui, postgres, seaweedfs] = versions;
    expect(service('temporal').image).toBe(`menagerie/temporal:${temporal}`);
    expect(service('temporal-ui').image).toBe(`menagerie/temporal-ui:${ui}`);
    expect(service('postgresql').image).toBe(`menagerie/postgresql:${postgres}`);
    expect(service('s3').image).toBe(`menagerie/seaweedfs:${seaweedfs}`);
    // Each is an image scripts/build-compose-images.sh makes.
    const build = readFileSync(join(ROOT, 'scripts', 'build-compose-images.sh'), 'utf8');
    expect(service('prometheus').image).toBe(`menagerie/prometheus:${/^PROMETHEUS_VERSION="([^"]+)"$/m.exec(build)?.[1]}`);
    for (const image of [
      'menagerie/temporal:$TEMPORAL_SERVER_VERSION',
      'menagerie/temporal-ui:$TEMPORAL_UI_VERSION',
      'menagerie/postgresql:$POSTGRES_MAJOR',
      'menagerie/seaweedfs:$SEAWEEDFS_VERSION',
      service('api').image,
    ]) {
      expect(build).toContain(`"${image}"`);
    }
  });

  it('builds the app services from the Dockerfile runtime stage, not from a registry', () => {
    const stages = dockerfileStages(join(ROOT, 'Dockerfile'));
    const runtime = stages.find((s) => s.name === 'runtime');
    expect(runtime).toBeDefined();
    // The last stage is what a plain `docker build .` produces: the same image.
    expect(stages[stages.length - 1]).toBe(runtime);
    for (const name of APP_SERVICES) {
      const { build, image, pull_policy } = service(name);
      expect(resolve(ROOT, build.context)).toBe(ROOT);
      expect(existsSync(resolve(ROOT, build.context, build.dockerfile ?? 'Dockerfile'))).toBe(true);
      expect(resolve(ROOT, build.context, build.dockerfile ?? 'Dockerfile')).toBe(join(ROOT, 'Dockerfile'));
      expect(build.target).toBe('runtime');
      expect(image).toBe(service('api').image);
      expect(pull_policy).toBe('never');
      // `docker-compose build` works where node:20 can be pulled, and on build-app-image.sh's stand-in.
      expect(build.args.NODE_IMAGE).toBe('node:20-bookworm-slim');
      expect(load({ MENAGERIE_NODE_IMAGE: 'menagerie/node:20' }).services[name].build.args.NODE_IMAGE).toBe('menagerie/node:20');
    }
  });

  it('runs each app entry point that the workspaces build', () => {
    const runtime = dockerfileStages(join(ROOT, 'Dockerfile')).find((s) => s.name === 'runtime')!;
    const cmd = runtime.lines.map((l) => /^CMD\s+(\[.*\])\s*$/.exec(l.trim())?.[1]).find(Boolean);
    const mainOf = (app: string) => join('apps', app, JSON.parse(readFileSync(join(ROOT, 'apps', app, 'package.json'), 'utf8')).main);
    expect(JSON.parse(cmd!)).toEqual(['node', mainOf('api')]);
    expect(service('api').command).toBeUndefined();
    expect(service('worker').command).toEqual(['node', mainOf('worker')]);
  });

  it('runs the API unprivileged and the worker as root with CAP_SYS_ADMIN and the loop devices only, nothing privileged', () => {
    const runtime = dockerfileStages(join(ROOT, 'Dockerfile')).find((s) => s.name === 'runtime')!;
    const users = runtime.lines.map((l) => /^USER\s+(\S+)/.exec(l.trim())?.[1]).filter(Boolean);
    expect(users.length).toBeGreaterThan(0);
    expect(isRoot(users[users.length - 1])).toBe(false);
    expect(service('api').user).toBeDefined();
    expect(isRoot(service('api').user)).toBe(false);
    expect(service('api').cap_drop).toContain('ALL');
    expect(isRoot(service('worker').user)).toBe(true);
    // The worker loop-mounts each job directory (a kernel-enforced size limit): CAP_SYS_ADMIN,
    // and of the host's /dev only /dev/loop-control and the loop block devices. It holds the
    // Docker socket, root-equivalent already.
    expect(service('worker').cap_add).toEqual(['SYS_ADMIN']);
    expect([...service('worker').device_cgroup_rules].sort()).toEqual(['b 7:* rmw', 'c 10:237 rmw']);
    expect(mountsOf(service('worker')).map((v) => v.source)).toEqual(expect.arrayContaining(['/var/run/docker.sock', '/dev']));
    for (const [name, s] of Object.entries(compose.services)) {
      expect({ name, privileged: s.privileged ?? false }).toEqual({ name, privileged: false });
      if (name !== 'worker') {
        expect({ name, cap_add: (s.cap_add ?? []).filter((c: string) => /^(CAP_)?(ALL|SYS_ADMIN)$/i.test(c)) }).toEqual({
          name,
          cap_add: [],
        });
        expect({ name, device_cgroup_rules: s.device_cgroup_rules ?? [] }).toEqual({ name, device_cgroup_rules: [] });
        expect({ name, dev: mountsOf(s).filter((m) => m.source === '/dev') }).toEqual({ name, dev: [] });
      }
      expect({ name, network_mode: s.network_mode === 'host', pid: s.pid === 'host' }).toEqual({ name, network_mode: false, pid: false });
      expect({ name, devices: s.devices ?? [] }).toEqual({ name, devices: [] });
    }
  });

  it('publishes the API on 8100 and the Temporal UI on 8233, and nothing of the worker or the backends', () => {
    expect(portsOf(service('api'))).toContainEqual(expect.objectContaining({ published: '8100', target: '8100' }));
    expect(portsOf(service('temporal-ui'))).toContainEqual(expect.objectContaining({ published: '8233', target: '8080' }));
    for (const name of ['worker', 'postgresql', 'temporal', 's3']) {
      expect({ name, ports: portsOf(service(name)) }).toEqual({ name, ports: [] });
    }
    // The container port the API listens on is the one published.
    expect(envOf(service('api')).MENAGERIE_API_PORT).toBe('8100');
    // The UI is on loopback unless told otherwise; so is the API, which has no keys unless given some.
    expect(portsOf(service('temporal-ui'))[0].hostIp).toBe('127.0.0.1');
    expect(portsOf(service('api'))[0].hostIp).toBe('127.0.0.1');
    expect(envOf(service('api')).MENAGERIE_API_KEYS).toBe('');
    const keyed = load({ MENAGERIE_API_KEYS: 'k1-0123456789abcdef,k2-0123456789abcdef', MENAGERIE_API_BIND: '0.0.0.0' });
    for (const name of ['api', 'worker'])
      expect(envOf(service(name, keyed)).MENAGERIE_API_KEYS).toBe('k1-0123456789abcdef,k2-0123456789abcdef');
    expect(portsOf(service('api', keyed))[0].hostIp).toBe('0.0.0.0');
  });

  it('publishes on the ports and addresses .env names, so a second deployment can share the host', () => {
    const c = load({
      MENAGERIE_API_PUBLISHED_PORT: '18100',
      MENAGERIE_API_BIND: '127.0.0.1',
      TEMPORAL_UI_PUBLISHED_PORT: '18233',
      TEMPORAL_UI_BIND: '10.0.0.5',
    });
    expect(portsOf(service('api', c))).toEqual([{ hostIp: '127.0.0.1', published: '18100', target: '8100' }]);
    expect(portsOf(service('temporal-ui', c))).toEqual([{ hostIp: '10.0.0.5', published: '18233', target: '8080' }]);
    // The apps still listen on 8100 inside.
    expect(envOf(service('api', c)).MENAGERIE_API_PORT).toBe('8100');
  });

  it.each([
    ['by default', {}, 'menagerie'],
    ['when MENAGERIE_DEPLOYMENT is set', { MENAGERIE_DEPLOYMENT: 'menagerie-staging' }, 'menagerie-staging'],
  ])("names the deployment (its engine containers' label, what workers sweep) %s", (_, env: Env, deployment) => {
    const c = load(env);
    for (const name of APP_SERVICES) {
      const config = loadConfig({ ...readEnv(envOf(service(name, c))), confDir: join(ROOT, 'confs') });
      expect({ name, deployment: config.settings.deployment }).toEqual({ name, deployment });
    }
  });

  it('links to where the API and the UI are published', () => {
    const env = envOf(service('api'));
    expect(url(env.MENAGERIE_PUBLIC_URL).port).toBe(portsOf(service('api'))[0].published);
    expect(url(env.TEMPORAL_UI_URL).port).toBe(portsOf(service('temporal-ui'))[0].published);
  });

  it('sets only environment variables that libs/config reads, the same for API and worker', () => {
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(envOf(service(name))).filter((k) => !ENV_VARS.includes(k));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
    expect(envOf(service('worker'))).toEqual(envOf(service('api')));
  });

  it('gives settings that load and validate with the shipped confs', () => {
    for (const name of APP_SERVICES) {
      const env = envOf(service(name));
      const config = loadConfig({ ...readEnv(env), confDir: join(ROOT, 'confs') });
      expect(config.settings.api.port).toBe(8100);
      expect(config.settings.database.host).toBe('postgresql');
      expect(config.settings.storage.kind).toBe('s3');
      expect(config.node.scratchDir).toBe(env.MENAGERIE_SCRATCH_DIR);
      expect(config.engines.length).toBeGreaterThan(0);
    }
  });

  it('mounts the confs read-only where MENAGERIE_CONF_DIR points', () => {
    for (const name of APP_SERVICES) {
      const s = service(name);
      const confs = mountsOf(s).find((m) => m.target === envOf(s).MENAGERIE_CONF_DIR);
      expect(confs).toEqual({ source: './confs', target: '/app/confs', readOnly: true });
      expect(existsSync(join(ROOT, 'confs', 'default.json')) && existsSync(join(ROOT, 'confs', 'engines.json'))).toBe(true);
    }
  });

  it('gives the worker the Docker socket where DOCKER_SOCKET says, and the API no socket and no group for one', () => {
    const socket = envOf(service('worker')).DOCKER_SOCKET;
    expect(mountsOf(service('worker')).find((m) => m.target === socket)).toEqual({
      source: '/var/run/docker.sock',
      target: '/var/run/docker.sock',
      readOnly: false,
    });
    for (const name of Object.keys(compose.services).filter((n) => n !== 'worker')) {
      const sockets = mountsOf(service(name)).filter((m) => /docker\.sock$/.test(m.source ?? '') || /docker\.sock$/.test(m.target));
      expect({ name, sockets }).toEqual({ name, sockets: [] });
    }
    expect(service('api').group_add).toBeUndefined();
  });

  it.each([
    ['by default', {}],
    ['when MENAGERIE_SCRATCH_DIR is set', { MENAGERIE_SCRATCH_DIR: '/srv/menagerie-scratch' }],
  ])(
    'mounts the worker scratch root at the same absolute path on the host and in the worker, and no host directory in the API, %s',
    (_, env: Env) => {
      const c = load(env);
      const expected = env.MENAGERIE_SCRATCH_DIR ?? '/var/lib/menagerie/scratch';
      const worker = service('worker', c);
      const dir = envOf(worker).MENAGERIE_SCRATCH_DIR;
      expect(dir).toBe(expected);
      expect(isAbsolute(dir)).toBe(true);
      // The worker hands <dir>/jobs/<id> to the host daemon as a bind source.
      expect(mountsOf(worker).find((m) => m.target === dir)).toEqual({ source: dir, target: dir, readOnly: false });
      // The API keeps nothing on disk: uploads stream into S3.
      expect(mountsOf(service('api', c)).map((m) => m.source)).toEqual(['./confs']);
    },
  );

  it.each([
    ['the s3 service by default', {}, 'http://s3:8333'],
    [
      'a real S3 service when MENAGERIE_S3_ENDPOINT is set',
      { MENAGERIE_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com', MENAGERIE_S3_FORCE_PATH_STYLE: 'false' },
      'https://s3.eu-west-1.amazonaws.com',
    ],
  ])('stores inputs, results and logs in S3 for the API and the worker: %s', (_, env: Env, endpoint) => {
    const c = load(env);
    const s3 = envOf(service('s3', c));
    for (const name of APP_SERVICES) {
      const app = envOf(service(name, c));
      expect({ name, kind: app.MENAGERIE_STORAGE_KIND, endpoint: app.MENAGERIE_S3_ENDPOINT }).toEqual({ name, kind: 's3', endpoint });
      // The same identity the s3 service is given.
      expect([app.MENAGERIE_S3_ACCESS_KEY, app.MENAGERIE_S3_SECRET_KEY]).toEqual([s3.S3_ACCESS_KEY, s3.S3_SECRET_KEY]);
      expect(dependsOn(service(name, c))).toMatchObject({ s3: 'service_healthy' });
      const config = loadConfig({ ...readEnv(app), confDir: join(ROOT, 'confs') });
      expect(config.settings.storage.s3).toMatchObject({ endpoint, forcePathStyle: env.MENAGERIE_S3_FORCE_PATH_STYLE !== 'false' });
    }
  });
});
