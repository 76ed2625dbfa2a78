import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './env';

/*
 * docker-compose.yml parsed and interpolated the way Compose does, for the
 * specs that hold it against what the apps actually read and need, and
 * against the images scripts/build-compose-images.sh builds
 * (test/unit/compose*.spec.ts; Compose's own check of the file:
 * test/host/compose-cli.spec.ts). scripts/compose-smoke.sh runs it.
 */

export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

export type Env = Record<string, string | undefined>;
export type Service = Record<string, any>;
export interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR and $$.
export const VARIABLE = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export function interpolate(text: string, env: Env): string {
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

export function interpolateAll(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  }
  return node;
}

/** docker-compose.yml as Compose sees it with `env` as the shell environment (and no .env file). */
export function load(env: Env = {}): Compose {
  const raw = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Compose;
  return interpolateAll(raw, env) as Compose;
}

export const compose = load();
export const service = (name: string, c: Compose = compose): Service => {
  const s = c.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

export function envOf(s: Service): Record<string, string> {
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

export interface Mount {
  source?: string;
  target: string;
  readOnly: boolean;
}

export function mountsOf(s: Service): Mount[] {
  return (s.volumes ?? []).map((v: string | Record<string, any>) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, readOnly: v.read_only === true };
    const parts = v.split(':');
    if (parts.length === 1) return { target: parts[0], readOnly: false };
    return { source: parts[0], target: parts[1], readOnly: (parts[2] ?? '').split(',').includes('ro') };
  });
}

export interface Port {
  hostIp?: string;
  published?: string;
  target: string;
}

export function portsOf(s: Service): Port[] {
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

export function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n: string) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, (v as any)?.condition ?? 'service_started']));
}

/** Compose durations: 1h2m3s, 45s, 1m30s, 500ms. */
export function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    total += Number(n) * { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[unit as 'h']!;
  }
  return total;
}

export const hasHealthcheck = (s: Service) => s.healthcheck !== undefined && s.healthcheck.disable !== true;
export const isOneShot = (s: Service) => s.restart === 'no' || String(s.restart ?? '').startsWith('on-failure');
export const isRoot = (user: unknown) => ['root', '0'].includes(String(user ?? '').split(':')[0]);
export const url = (u: string) => new URL(u);

export const APP_SERVICES = ['api', 'worker'] as const;
export const LONG_RUNNING = ['postgresql', 'temporal', 'temporal-ui', 's3', 'api', 'worker'];
export const SEAWEEDFS_DIR = join(ROOT, 'docker', 'seaweedfs');
export const COMMON_SH = readFileSync(join(ROOT, 'scripts', 'lib', 'common.sh'), 'utf8');
/** A version scripts/lib/common.sh pins: NAME="${NAME:-<version>}". */
export const pinned = (name: string) => new RegExp(`^${name}="\\$\\{${name}:-([^}]+)\\}"$`, 'm').exec(COMMON_SH)?.[1];

export interface Stage {
  from: string;
  name?: string;
  lines: string[];
}

export function dockerfileStages(file: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line.trim());
    if (from) stages.push({ from: from[1], name: from[2], lines: [] });
    else if (stages.length) stages[stages.length - 1].lines.push(line);
  }
  return stages;
}
