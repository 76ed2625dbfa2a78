import type { FinalStatus } from './job';
import type { ReportDigest } from './report';

/** A data bundle as a job gets it: where it is mounted, and which version (null: none was pushed yet, so an empty directory). */
export interface BundleMount {
  target: string;
  digest: string | null;
}

/**
 * What the workflow needs to run one engine on one input. The engine's
 * definition is snapshotted at upload time, so the workflow history records
 * exactly what a job was asked to run.
 */
export interface EngineSpec {
  name: string;
  image: string;
  cmd: string[];
  mountpoint: string;
  inputfilename: string;
  user: string;
  timeout: number;
  /**
   * As in engines.json, except that environment values are left out (`-e NAME`):
   * they are often secrets, and workflow inputs are kept in Temporal's history and
   * shown in its Web UI. The worker takes the values from its own configuration.
   */
  runflags: string[];
  /**
   * The engine's data bundles, by name, with the version the job was given
   * at upload (so every attempt mounts the same one). Absent for an engine
   * without bundles, and in workflows from before them.
   */
  data?: Record<string, BundleMount>;
}

/** Which version of each bundle a job was given (bundle -> digest, null: none yet), as its row records it; null without bundles. */
export function bundleDigestsOf(spec: Pick<EngineSpec, 'data'>): Record<string, string | null> | null {
  if (!spec.data || !Object.keys(spec.data).length) return null;
  return Object.fromEntries(Object.entries(spec.data).map(([bundle, mount]) => [bundle, mount.digest]));
}

export interface EngineJobInput {
  jobId: string;
  engine: EngineSpec;
  /** The uploaded file's name, for naming the result; absent in workflows started before it was added. */
  originalName?: string;
  /** The input's sha256 (for the cache key); absent in workflows started before the cache: the worker reads the row. */
  sha256?: string;
  /** Whose stored input to run on (a submission's); absent: the job's own. */
  inputFrom?: string | null;
  /**
   * Set when the run may be answered from the cache: the worker computes the
   * key from the digest it resolves, and serves a completed run younger than
   * this many seconds instead of running. Absent: forced, or no cache.
   */
  cacheTtlSeconds?: number;
}

/** What is known about a run once its container has started: the final status write carries it. */
export interface RunFacts {
  imageDigest?: string | null;
  /** ISO 8601; when the container was started. */
  startedAt?: string | null;
  /** The worker node that ran it (from workflow version 4 on). */
  node?: string | null;
}

export interface EngineRun extends RunFacts {
  exitCode: number;
  imageDigest: string | null;
  logTail: string;
}

export interface StoredResult {
  name: string;
  size: number;
  mime: string;
  /** What the engine's report.json said, when it wrote one (the report itself is in the store). */
  report?: ReportDigest;
}

/** What the node-local run (fetch, run, store, clear) hands back: the run and its stored result. */
export interface JobRun extends EngineRun {
  node: string;
  result: StoredResult;
  /** The cache key of what ran (or would have). */
  cacheKey?: string | null;
  /** Set when the worker served the run from the cache: no container ran. */
  cachedFrom?: string | null;
}

/** Carried as ApplicationFailure details so the final status keeps what the engine said. */
export interface FailureDetails extends RunFacts {
  exitCode?: number | null;
  logTail?: string;
}

export interface FinalStatusRecord extends RunFacts {
  jobId: string;
  /** The cache key of what ran, computed by the worker. */
  cacheKey?: string | null;
  /** A hit the worker found: the job whose result this one serves. */
  cachedFrom?: string | null;
  status: FinalStatus;
  exitCode?: number | null;
  error?: string | null;
  logTail?: string | null;
  result?: StoredResult | null;
}

/** The final status of a job whose run completed: what the workflow records, and what runJob records first. */
export function completedJob(jobId: string, run: JobRun): FinalStatusRecord {
  return {
    jobId,
    status: 'completed',
    exitCode: run.exitCode,
    logTail: run.logTail,
    result: run.result,
    imageDigest: run.imageDigest ?? null,
    startedAt: run.startedAt ?? null,
    node: run.node,
    ...(run.cacheKey ? { cacheKey: run.cacheKey } : {}),
    ...(run.cachedFrom ? { cachedFrom: run.cachedFrom } : {}),
  };
}

/** What a node reports of one engine: whether it can run it, and the digest its image resolves to there. */
export interface NodeEngine {
  name: string;
  image: string;
  digest: string | null;
  /** True when the image is present, or a registry is configured to pull it from. */
  available: boolean;
  /**
   * Whether the node takes the engine's jobs (polls its queue). An engine
   * whose image is missing is not served; one whose daemon does not answer
   * for a while still is (its jobs retry, and a restarted dockerd serves them).
   */
  serving: boolean;
  reason: string | null;
}

/** A worker node as it reports itself. */
export interface NodeReport {
  name: string;
  engines: NodeEngine[];
  running: Array<{ jobId: string; engine: string }>;
  scratchDir: string;
}

/** Failure types an activity raises on purpose; the workflow maps them to a final status. */
export const FAILURE_TYPES = {
  engineFailed: 'EngineFailed',
  engineTimeout: 'EngineTimeout',
  imageNotFound: 'ImageNotFound',
  noResult: 'NoResult',
  inputMissing: 'InputMissing',
  badReport: 'BadReport',
} as const;

const ENV_FLAGS = new Set(['-e', '--env']);

/** `NAME=value` -> `NAME`. */
export function envName(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * `-e NAME=value`, `--env NAME=value` and `--env=NAME=value` become `-e NAME` /
 * `--env=NAME`: the names of an engine's environment without their values.
 * Pure, so that workflow code can apply it too.
 */
export function withoutEnvValues(runflags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < runflags.length; i++) {
    const token = runflags[i];
    if (ENV_FLAGS.has(token) && i + 1 < runflags.length) {
      out.push(token, envName(runflags[++i]));
    } else if (token.startsWith('--env=')) {
      out.push(`--env=${envName(token.slice('--env='.length))}`);
    } else {
      out.push(token);
    }
  }
  return out;
}
