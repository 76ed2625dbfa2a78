import type { JobStatus } from '@menagerie/core';
import type { JobRepository, JobTagRepository } from '@menagerie/db';
import type { ContainerRuntime, RegistryAuth } from '@menagerie/runtime';
import type { BlobStore, Scratch } from '@menagerie/storage';

/** The jobs this worker process is running now, by id: what its node reports, and what its sweep keeps. */
export type RunningJobs = Map<string, string>;

/**
 * What the activities tell the worker's metrics (WorkerMetrics in
 * @menagerie/metrics has these methods). Each end is reported once: by the
 * write of the final status that changed the row.
 */
export interface RunObserver {
  /** The re-check before a run, with the key computed from the digest this node resolved. */
  cacheLookup(engine: string, outcome: 'hit' | 'miss'): void;
  /** An engine's container ran, whatever its outcome, for this long. */
  containerRan(engine: string, seconds: number): void;
  /** This worker recorded a job's final status. */
  jobEnded(job: { engine: string; status: JobStatus; queuedSeconds: number | null }): void;
}

export interface ActivityDeps {
  /** Where inputs, results and logs last: shared by every node. */
  blobs: BlobStore;
  /** This node's job directories. */
  scratch: Scratch;
  /** This node's name, recorded on the jobs it runs. */
  node: string;
  running: RunningJobs;
  runtime: ContainerRuntime;
  jobs: Pick<JobRepository, 'findById' | 'markRunning' | 'recordFinalStatus' | 'findCached'>;
  /** The tag index of the jobs' reports. */
  tags: Pick<JobTagRepository, 'replace'>;
  allowRunflags: readonly string[];
  logLimitBytes: number;
  logTailBytes: number;
  resultLimitBytes: number;
  heartbeatIntervalMs?: number;
  /** How long each cleanup after the final status may take before it is left to the retention sweep (10 s). */
  cleanupTimeoutMs?: number;
  /** How long a run waits for the store to answer again before its attempt fails and is retried (2 minutes). */
  storeRetryMs?: number;
  /** Set when missing images may be pulled. */
  registry?: { auth: RegistryAuth | null } | null;
  /**
   * The environment (NAME=value) this worker's configuration gives an engine,
   * or undefined for an engine it doesn't know. Workflow inputs carry only the
   * names: values are often secrets and must stay out of Temporal's history.
   */
  engineEnv(engine: string): readonly string[] | undefined;
  /** Told of cache re-checks, container runs and the final statuses this worker records (the metrics). */
  observer?: RunObserver;
}

/** The dependencies with every default filled in: what the steps of a run take. */
export type RunDeps = ActivityDeps & Required<Pick<ActivityDeps, 'heartbeatIntervalMs' | 'cleanupTimeoutMs' | 'storeRetryMs'>>;

export function withDefaults(deps: ActivityDeps): RunDeps {
  return {
    ...deps,
    heartbeatIntervalMs: deps.heartbeatIntervalMs ?? 1000,
    cleanupTimeoutMs: deps.cleanupTimeoutMs ?? 10_000,
    storeRetryMs: deps.storeRetryMs ?? 120_000,
  };
}
