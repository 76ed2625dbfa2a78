import type { Connection, Target } from './client';
import { UsageError } from './errors';

export const DEFAULT_URL = 'http://localhost:8100';
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 64;

/** The options every command takes. */
export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/** The API to talk to: the flag, else the environment, else the default; a key only if one is given. */
export function resolveConnection(options: GlobalOptions, env: NodeJS.ProcessEnv): Connection {
  const raw = options.url ?? (env.MENAGERIE_URL || undefined) ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: "${raw}" is not a URL (e.g. ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url: "${raw}" is not an http(s) URL`);
  if (url.search || url.hash) throw new UsageError(`--url: "${raw}" must not have a query or fragment`);
  if (url.username || url.password) throw new UsageError('--url: put no credentials in the URL; use --api-key or MENAGERIE_API_KEY');
  const apiKey = options.apiKey ?? (env.MENAGERIE_API_KEY || undefined) ?? null;
  return { url: url.href.replace(/\/+$/, ''), apiKey };
}

/**
 * Where `submit` sends the files: `--engine E` (or `--engines` naming one
 * engine) uploads to that engine; several engines, or `auto`, make a
 * submission. The names are left to the server to check (it knows them).
 */
export function resolveTarget(engine: string | undefined, engines: string | undefined): Target {
  if (engine !== undefined && engines !== undefined) throw new UsageError('give --engine or --engines, not both');
  if (engine !== undefined) {
    const name = engine.trim();
    if (!name || name.includes(',')) throw new UsageError('--engine takes one engine name; use --engines a,b for several');
    return { kind: 'engine', engine: name };
  }
  if (engines === undefined)
    throw new UsageError('say which engines: --engine E, or --engines a,b (or auto); `menagerie engines` lists them');
  const names = engines.split(',').map((s) => s.trim());
  if (names.some((n) => !n)) throw new UsageError(`--engines "${engines}" has an empty name`);
  if (names.length === 1 && names[0] !== 'auto') return { kind: 'engine', engine: names[0] };
  return { kind: 'submission', engines: names.join(',') };
}

/** A whole number in [min, max], for options such as --concurrency and --limit. */
export function integerOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim())) throw new UsageError(`${name} takes a whole number from ${min} to ${max}, not "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new UsageError(`${name} takes a whole number from ${min} to ${max}, not ${n}`);
    return n;
  };
}
