import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { chownSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEngines, parseReport, type Engine, type Report } from '@menagerie/engines';
import { DockerRuntime } from '@menagerie/runtime';
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
  options: { data?: Record<string, string>; timeoutMs?: number } = {},
): Promise<EngineContainerRun> {
  const engine = catalogueEngine(name);
  const runtime = new DockerRuntime({ docker: new Docker(), deployment: `test-engines-${process.pid}` });
  const image = await runtime.inspectImage(engine.spec.image);
  if (!image) throw new Error(`${engine.spec.image} is not built; run: bash scripts/build-images.sh ${name}`);
  if (!existsSync(sample)) throw new Error(`no sample ${sample}; run: bash scripts/build-samples.sh`);
  const dir = tempDir(`menagerie-engine-${name}-`);
  chownSync(dir, ENGINE_UID, ENGINE_UID);
  const input = join(dir, engine.spec.inputfilename);
  copyFileSync(sample, input);
  chownSync(input, ENGINE_UID, ENGINE_UID);
  const mounts = engine.config.data ?? {};
  const dataMounts = Object.entries(options.data ?? {}).map(([bundle, hostDir]) => {
    const target = mounts[bundle];
    if (!target) throw new Error(`engine ${name} declares no data bundle ${bundle} (its data: ${JSON.stringify(mounts)})`);
    return { hostDir, target };
  });
  const outcome = await runtime.run(
    {
      jobId: randomUUID(),
      engine: name,
      image,
      cmd: engine.spec.cmd,
      user: engine.spec.user,
      env: [`MENAGERIE_INPUT=${engine.spec.inputfilename}`],
      mountpoint: engine.spec.mountpoint,
      hostDir: dir,
      dataMounts,
      policy: engine.policy,
      timeoutMs: options.timeoutMs ?? engine.spec.timeout * 1000,
      logLimitBytes: 1 << 20,
    },
    new AbortController().signal,
  );
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

/** Where scripts/build-samples.sh puts the samples of `group`. */
export function samplePath(group: string, file: string): string {
  return join(ROOT, '.cache/fixtures/samples', group, file);
}
