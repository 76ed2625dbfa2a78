import type { FinalStatus } from './job';

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
  runflags: string[];
}

export interface EngineJobInput {
  jobId: string;
  engine: EngineSpec;
  /** The uploaded file's name, for naming the result; absent in workflows started before it was added. */
  originalName?: string;
}

export interface EngineRun {
  exitCode: number;
  imageDigest: string | null;
  logTail: string;
}

export interface StoredResult {
  name: string;
  size: number;
  mime: string;
}

/** Carried as ApplicationFailure details so the final status keeps what the engine said. */
export interface FailureDetails {
  exitCode?: number | null;
  logTail?: string;
}

export interface FinalizeJobInput {
  jobId: string;
  status: FinalStatus;
  exitCode?: number | null;
  error?: string | null;
  logTail?: string | null;
  result?: StoredResult | null;
}

/** Failure types an activity raises on purpose; the workflow maps them to a final status. */
export const FAILURE_TYPES = {
  engineFailed: 'EngineFailed',
  engineTimeout: 'EngineTimeout',
  imageNotFound: 'ImageNotFound',
  noResult: 'NoResult',
  inputMissing: 'InputMissing',
} as const;
