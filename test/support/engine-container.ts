import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { envName } from '@menagerie/core';
import { configuredEnv, loadEngines, parseReport, type Engine, type Report } from '@menagerie/engines';
import { DockerRuntime, type RunOutcome } from '@menagerie/runtime';
import { ROOT } from './env';
import { tempDir } from './temp-dir';

/** The uid engines run as in these tests, as `{{uid}}` in confs/engines.json becomes. */
const ENGINE_UID = 1000;

/** An engine of confs/engines.json, as the worker loads it (its image local: regserver `menagerie`). */
export function catalogueEngine(name: string): Engine {
  const engines = loadEngines(join(ROOT, 'confs/engines.json'), { regserver: 'menagerie', uid: ENGINE_UID }, [], { cacheTtl: 0 });
  const engine = engines.find((e) => e.config.name === name);
  if (!engine) throw new Error(`confs/engines.json has no engine ${name}`);
  return engine;
}

export interface EngineContainerRun {
  exitCode: number | null;
  timedOut: boolean;
  log: string;
  /** report.json, validated against menagerie.report/1 (an invalid one fails the test); null when none was written. */
  report: Report | null;
  /** The result file's bytes; null when none was written. */
  result: Buffer | null;
  /** The job directory, as the engine left it: where its children are. */
  dir: string;
}

/**
 * Runs a catalogue engine on `sample` in a container, contained exactly as
 * the worker contains it (its runflags' policy: no network, read-only root,
 * its uid, its limits), with `data` (bundle name to a host directory) mounted
 * read-only where the engine's `data` field says. No Temporal, API or
 * database: the engine alone, for tests of what it reports.
 */
export async function runCatalogueEngine(
  name: string,
  sample: string,
  options: { data?: Record<string, string>; timeoutMs?: number; env?: string[] } = {},
): Promise<EngineContainerRun> {
  const engine = catalogueEngine(name);
  if (!existsSync(sample)) throw new Error(`no sample ${sample}; run: bash scripts/build-samples.sh`);
  const dir = jobDir(name);
  const input = join(dir, engine.spec.inputfilename);
  copyFileSync(sample, input);
  chownSync(input, ENGINE_UID, ENGINE_UID);
  // The engine's configured environment as the worker gives it, with `env` in place of any of the same name.
  const given = options.env ?? [];
  const configured = configuredEnv(engine).filter((e) => !given.some((o) => envName(o) === envName(e)));
  const outcome = await runContained(engine, dir, engine.spec.cmd, {
    ...options,
    env: [...configured, `MENAGERIE_INPUT=${engine.spec.inputfilename}`, ...given],
  });
  const read = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file)) : null);
  const reportBytes = read('report.json');
  return {
    exitCode: outcome.exitCode,
    timedOut: outcome.timedOut,
    log: outcome.log.toString('utf8'),
    report: reportBytes ? parseReport(reportBytes) : null,
    result: read('result'),
    dir,
  };
}

/**
 * Runs a catalogue engine's `datacheck` on a bundle (`bundleDir` mounted
 * where the engine's one data bundle goes), in an empty job directory, as
 * a push would: its exit code and output.
 */
export async function runCatalogueDatacheck(name: string, bundleDir: string): Promise<{ exitCode: number | null; log: string }> {
  const engine = catalogueEngine(name);
  const check = engine.config.datacheck;
  const bundles = Object.keys(engine.config.data ?? {});
  if (!check || bundles.length !== 1) throw new Error(`engine ${name} has no datacheck, or not one data bundle`);
  const cmd = Array.isArray(check) ? check : ['/bin/sh', '-c', check];
  const outcome = await runContained(engine, jobDir(name), cmd, { data: { [bundles[0]]: bundleDir }, env: configuredEnv(engine) });
  return { exitCode: outcome.exitCode, log: outcome.log.toString('utf8') };
}

/** A job directory of the engine's user. */
function jobDir(name: string): string {
  const dir = tempDir(`menagerie-engine-${name}-`);
  chownSync(dir, ENGINE_UID, ENGINE_UID);
  return dir;
}

/** `cmd` in the engine's image on `dir`, contained as the worker contains it, with the data bundles of `options`. */
async function runContained(
  engine: Engine,
  dir: string,
  cmd: string[],
  options: { data?: Record<string, string>; timeoutMs?: number; env: string[] },
): Promise<RunOutcome> {
  const name = engine.config.name;
  const runtime = new DockerRuntime({ docker: new Docker(), deployment: `test-engines-${process.pid}` });
  const image = await runtime.inspectImage(engine.spec.image);
  if (!image) throw new Error(`${engine.spec.image} is not built; run: bash scripts/build-images.sh ${name}`);
  const mounts = engine.config.data ?? {};
  const dataMounts = Object.entries(options.data ?? {}).map(([bundle, hostDir]) => {
    const target = mounts[bundle];
    if (!target) throw new Error(`engine ${name} declares no data bundle ${bundle} (its data: ${JSON.stringify(mounts)})`);
    return { hostDir, target };
  });
  return runtime.run(
    {
      jobId: randomUUID(),
      engine: name,
      image,
      cmd,
      user: engine.spec.user,
      env: options.env,
      mountpoint: engine.spec.mountpoint,
      hostDir: dir,
      dataMounts,
      policy: engine.policy,
      timeoutMs: options.timeoutMs ?? engine.spec.timeout * 1000,
      logLimitBytes: 1 << 20,
    },
    new AbortController().signal,
  );
}

/** The values of `report`'s tags of `type`. */
export function tagValues(report: Report | null, type: string): string[] {
  return (report?.tags ?? []).filter((t) => t.type === type).map((t) => t.value);
}

/** A section of `report` by title; fails the test when there is none. */
export function section<K extends Report['sections'][number]['kind']>(
  report: Report | null,
  title: string,
  kind: K,
): Extract<Report['sections'][number], { kind: K }> {
  const found = report?.sections.find((s) => s.title === title && s.kind === kind);
  if (!found) throw new Error(`the report has no ${kind} section "${title}" (it has: ${report?.sections.map((s) => s.title).join(', ')})`);
  return found as Extract<Report['sections'][number], { kind: K }>;
}

/** A key-value section's value for `key`. */
export function field(report: Report | null, title: string, key: string): string | undefined {
  return section(report, title, 'kv').fields.find(([k]) => k === key)?.[1];
}

/** A bundle directory of these files (paths may hold directories), readable by the engine's uid, as an operator would push it. */
export function writeBundle(files: Record<string, string>): string {
  const dir = tempDir('menagerie-bundle-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, name), text, { mode: 0o644 });
  }
  chmodSync(dir, 0o755);
  return dir;
}

/** Where scripts/build-samples.sh puts the samples of `group`. */
export function samplePath(group: string, file: string): string {
  return join(ROOT, '.cache/fixtures/samples', group, file);
}
