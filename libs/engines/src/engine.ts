import { readFileSync } from 'node:fs';
import { ConfigError, MenagerieError, type BundleMount, type EngineSpec } from '@menagerie/core';
import { enginesFileSchema, type EngineConfig } from './engine.schema';
import type { ContainerPolicy } from './policy';
import { envName, parseRunflags, RunflagError, withoutEnvValues } from './runflags';

export interface TemplateVars {
  /** Replaces `{{regserver}}`. Empty means local images: `{{regserver}}/x` becomes `x`. */
  regserver: string;
  /** Replaces `{{uid}}`, the user engines run as. */
  uid: number;
}

/** What default.json gives every engine that engines.json does not override. */
export interface EngineDefaults {
  /** Seconds a completed result is served again (cache.ttl); 0: no cache. */
  cacheTtl: number;
}

/** A validated engine: its config, its parsed containment policy, and the spec a job snapshots. */
export interface Engine {
  config: EngineConfig;
  policy: ContainerPolicy;
  spec: EngineSpec;
  /** Its effective cache TTL in seconds: `cachettl`, else cache.ttl; 0 when off. */
  cacheTtl: number;
}

/**
 * Whether `engine` takes a file of the detected type `mime`: null when it
 * does, else why not, in words for the uploader. The one rule for `accepts`
 * and `rejects` (an explicit upload and `engines=auto` both follow it).
 */
export function refusesType(engine: Engine, mime: string): string | null {
  const { accepts, rejects, name } = engine.config;
  if (accepts && !new RegExp(accepts, 'i').test(mime))
    return `engine ${name} accepts only files whose type matches /${accepts}/, and this file is ${mime}`;
  if (rejects && new RegExp(rejects, 'i').test(mime))
    return `engine ${name} rejects files whose type matches /${rejects}/, and this file is ${mime}`;
  return null;
}

/** The engine of that name, or ENGINE_UNKNOWN listing the configured ones: the one lookup of an engine a request names. */
export function engineNamed(engines: readonly Engine[], name: string): Engine {
  const engine = engines.find((e) => e.config.name === name);
  if (!engine) {
    throw new MenagerieError('ENGINE_UNKNOWN', `no engine named "${name}"; GET /engines lists them`, {
      engines: engines.map((e) => e.config.name),
    });
  }
  return engine;
}

/** The one wording of a file over a size limit; `size` is null while the upload's size is known only from its headers. */
export function tooLargeMessage(size: number | null, limitOf: string, limit: number): string {
  return `the file${size === null ? '' : ` (${size} bytes)`} is larger than ${limitOf}'s limit of ${limit} bytes`;
}

/**
 * The most an upload for `engines` may stream before it is refused: the
 * largest sizelimit among them, and whose it is. An upload to one engine, or a
 * submission naming engines, is held to theirs (each is checked again once the
 * size is known: refusesFile); `engines=auto` to the largest of every engine.
 */
export function uploadLimitFor(
  engines: ReadonlyArray<{ config: Pick<EngineConfig, 'name' | 'sizelimit'> }>,
  named: boolean,
): { limit: number; limitOf: string } {
  const biggest = engines.reduce((a, b) => (b.config.sizelimit > a.config.sizelimit ? b : a));
  return { limit: biggest.config.sizelimit, limitOf: named ? `engine ${biggest.config.name}` : 'any engine' };
}

/** Why an engine won't take a file, as refusesFile answers it. */
export interface FileRefusal {
  code: 'UPLOAD_TOO_LARGE' | 'ENGINE_REFUSES_TYPE';
  message: string;
  details: Record<string, unknown>;
}

/**
 * Why `engine` won't take a file of `size` bytes whose detected type is
 * `mime`: larger than its `sizelimit`, or a type its `accepts`/`rejects`
 * refuse; null when it takes it. The one rule an upload to a named engine, a
 * submission and a retry follow (a retry with the engine's definition now).
 */
export function refusesFile(engine: Engine, file: { size: number; mime: string | null }): FileRefusal | null {
  const { name, sizelimit } = engine.config;
  if (file.size > sizelimit) {
    return {
      code: 'UPLOAD_TOO_LARGE',
      message: tooLargeMessage(file.size, `engine ${name}`, sizelimit),
      details: { limit: sizelimit, engine: name },
    };
  }
  const refusal = file.mime === null ? null : refusesType(engine, file.mime);
  return refusal ? { code: 'ENGINE_REFUSES_TYPE', message: refusal, details: { engine: name, mime: file.mime } } : null;
}

export function renderTemplate(text: string, vars: TemplateVars): string {
  const withRegistry = vars.regserver
    ? text.replaceAll('{{regserver}}', vars.regserver)
    : text.replaceAll('{{regserver}}/', '').replaceAll('{{regserver}}', '');
  return withRegistry.replaceAll('{{uid}}', String(vars.uid));
}

/** Whitespace-split, as the original concatenated cmd and flags with spaces. */
function splitCmd(cmd: string | string[]): string[] {
  return Array.isArray(cmd) ? cmd : cmd.trim().split(/\s+/);
}

export function parseEngines(
  file: string,
  text: string,
  vars: TemplateVars,
  allowRunflags: readonly string[] = [],
  defaults: EngineDefaults = { cacheTtl: 0 },
): Engine[] {
  let data: unknown;
  try {
    data = JSON.parse(renderTemplate(text, vars));
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON after templating: ${(err as Error).message}`]);
  }
  const parsed = enginesFileSchema.safeParse(data);
  if (!parsed.success) throw ConfigError.fromIssues(file, parsed.error.issues, data);

  const problems: string[] = [];
  const engines: Engine[] = [];
  parsed.data.engines.forEach((config, index) => {
    try {
      const policy = parseRunflags(config.runflags, allowRunflags, { user: config.user });
      const bare = policy.env.filter((entry) => envName(entry) === entry);
      if (bare.length) throw new RunflagError(`-e ${bare.join(', ')}: needs a value here (NAME=value)`);
      engines.push({
        config,
        policy,
        spec: {
          name: config.name,
          image: config.image,
          cmd: splitCmd(config.cmd),
          mountpoint: config.mountpoint,
          inputfilename: config.inputfilename,
          user: policy.user ?? config.user,
          timeout: config.timeout,
          runflags: withoutEnvValues(config.runflags),
        },
        cacheTtl: config.cachettl ?? defaults.cacheTtl,
      });
    } catch (err) {
      if (!(err instanceof RunflagError)) throw err;
      for (const problem of err.problems) problems.push(`engines[${index}] (${config.name}).${problem.field}: ${problem.message}`);
    }
  });
  if (problems.length) throw new ConfigError(file, problems);
  return engines;
}

/**
 * The spec a job of `engine` runs with: its definition, and each bundle it
 * declares (engines.json `data`) at the version `digests` names (a bundle
 * not there, or null: none pushed yet, an empty directory). The one rule the
 * upload's cache key, the job's row and the workflow's input follow.
 */
export function specWithBundles(engine: Engine, digests: Readonly<Record<string, string | null>> | null): EngineSpec {
  const declared = Object.entries(engine.config.data ?? {});
  if (!declared.length) return engine.spec;
  const data: Record<string, BundleMount> = {};
  for (const [bundle, target] of declared) data[bundle] = { target, digest: digests?.[bundle] ?? null };
  return { ...engine.spec, data };
}

/** The engine's datacheck as a command (split as `cmd` is); null without one. */
export function datacheckOf(engine: Engine): string[] | null {
  return engine.config.datacheck ? splitCmd(engine.config.datacheck) : null;
}

/** The engine's environment as engines.json gives it, values included: for the worker, never for a workflow input. */
export function configuredEnv(engine: Engine): string[] {
  return [...engine.policy.env];
}

/** The names of an environment's variables, without their values. */
export function envNames(env: readonly string[]): string[] {
  return env.map(envName);
}

export function loadEngines(file: string, vars: TemplateVars, allowRunflags: readonly string[] = [], defaults?: EngineDefaults): Engine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseEngines(file, text, vars, allowRunflags, defaults);
}
