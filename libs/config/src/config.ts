import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '@menagerie/core';
import { loadEngines, type Engine } from '@menagerie/engines';
import { readEnv, type EnvOverrides } from './env';
import { settingsSchema, type Settings } from './settings.schema';

export interface MenagerieConfig {
  settings: Settings;
  engines: Engine[];
  files: { defaults: string; engines: string };
  /** Absolute storage directory. */
  storageDir: string;
  /** This process as a worker node: its name (default: the host name) and absolute scratch root (default: storageDir). */
  node: { name: string; scratchDir: string };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, patch: Record<string, unknown>): unknown {
  if (!isObject(base)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = isObject(v) ? merge(out[k], v) : v;
  return out;
}

export function parseSettings(file: string, text: string, patch: Record<string, unknown> = {}): Settings {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  const merged = merge(data, patch);
  const parsed = settingsSchema.safeParse(merged);
  if (!parsed.success) throw ConfigError.fromIssues(file, parsed.error.issues, merged);
  return parsed.data;
}

/** The engines of `file`, templated and checked with these settings (at boot and on every reload). */
export function loadEnginesFor(settings: Settings, file: string): Engine[] {
  const engines = loadEngines(file, { regserver: settings.regserver, uid: settings.uid }, settings.allowRunflags, {
    cacheTtl: settings.cache.ttl,
  });
  // The input is staged into a job directory of jobDirLimitBytes: an upload that can't fit there would fail every time.
  const problems = engines.flatMap(({ config }, index) =>
    config.sizelimit < settings.jobDirLimitBytes
      ? []
      : [
          `engines[${index}] (${config.name}).sizelimit: ${config.sizelimit} must be below jobDirLimitBytes (${settings.jobDirLimitBytes}) in default.json, the size of each job directory the input is staged into`,
        ],
  );
  if (problems.length) throw new ConfigError(file, problems);
  return engines;
}

/** Reads and validates confs/default.json and confs/engines.json once, at boot. */
export function loadConfig(env: EnvOverrides = readEnv()): MenagerieConfig {
  const confDir = resolve(env.confDir ?? 'confs');
  const defaultsFile = resolve(env.defaultsFile ?? `${confDir}/default.json`);
  const enginesFile = resolve(env.enginesFile ?? `${confDir}/engines.json`);
  let text: string;
  try {
    text = readFileSync(defaultsFile, 'utf8');
  } catch (err) {
    throw new ConfigError(defaultsFile, [`cannot read the file: ${(err as Error).message}`]);
  }
  const settings = parseSettings(defaultsFile, text, env.patch);
  const engines = loadEnginesFor(settings, enginesFile);
  return {
    settings,
    engines,
    files: { defaults: defaultsFile, engines: enginesFile },
    storageDir: resolve(dirname(defaultsFile), settings.storage.dir),
    node: {
      name: settings.node.name ?? hostname(),
      scratchDir: resolve(dirname(defaultsFile), settings.node.scratchDir ?? settings.storage.dir),
    },
  };
}

/** Prints a ConfigError the way an operator needs it and exits; rethrows anything else. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

/** loadConfig for a process entry point: a bad configuration ends the process with its message. */
export function loadConfigOrExit(): MenagerieConfig {
  try {
    return loadConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
}
