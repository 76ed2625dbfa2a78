import type { ContainerPolicy } from '@menagerie/engines';
import type { UserNamespace } from '@menagerie/core';
import { parseImageRef } from './image-ref';

export const JOB_LABEL = 'menagerie.job';
export const ENGINE_LABEL = 'menagerie.engine';
/** The worker node that made the container: each node sweeps only its own. */
export const NODE_LABEL = 'menagerie.node';
/**
 * Which deployment a container belongs to (its deployment name and Temporal
 * namespace): several deployments may share one Docker daemon, and each
 * lists, sweeps and removes only its own containers.
 */
export const DEPLOYMENT_LABEL = 'menagerie.deployment';

/** The value of DEPLOYMENT_LABEL for a deployment. */
export function deploymentLabel(deployment: string, namespace: string): string {
  return `${deployment}/${namespace}`;
}

export interface ImageInfo {
  /** The local image id, used to create the container so a moving tag can't change it mid-job. */
  id: string;
  /** The registry digest when there is one, else the image id. */
  digest: string;
}

export interface RunRequest {
  jobId: string;
  engine: string;
  image: ImageInfo;
  cmd: string[];
  user: string;
  /** NAME=value pairs; never logged. */
  env: string[];
  mountpoint: string;
  /** The job directory on the host: the only host path the engine sees read-write. */
  hostDir: string;
  /**
   * The engine's data bundles (rules, signatures): host directories mounted
   * read-only at `target`. `sealed`: the host directory is a mount of its own
   * that is read-only, nosuid, nodev and noexec (a node's copy with loop job
   * directories, NodeBundles), which the container keeps.
   */
  dataMounts?: Array<{ hostDir: string; target: string; sealed?: boolean }>;
  policy: ContainerPolicy;
  timeoutMs: number;
  logLimitBytes: number;
}

export interface RunOutcome {
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
  oomKilled: boolean;
  log: Buffer;
  logTail(bytes: number): string;
  /** When the container was started; null when it never was. */
  startedAt: Date | null;
}

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface JobContainer {
  id: string;
  jobId: string;
  state: string;
  /** The node that made it; null for containers made before nodes were labelled. */
  node: string | null;
}

/**
 * What the worker needs from a container engine. Only docker.runtime.ts knows
 * Docker. A runtime serves one deployment: it labels what it creates with it,
 * and lists and removes only containers that carry that label.
 */
export interface ContainerRuntime {
  ping(): Promise<void>;
  /**
   * The daemon's user namespace when it runs with `--userns-remap` (container
   * id n is a host id past the range's start), else null: what job
   * directories are given to (hostUser in @menagerie/core).
   */
  userNamespace(): Promise<UserNamespace | null>;
  /** null when the image isn't present locally. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  /** Pulls an image from its registry, reporting progress lines as they come; a registry's refusal is a RegistryError. */
  pullImage(ref: string, auth: RegistryAuth | null, onProgress: (line: string) => void): Promise<void>;
  /**
   * The digest the reference resolves to at its registry now (the manifest's,
   * as a pull would record it), without pulling; throws a RegistryError.
   */
  registryDigest(ref: string, auth: RegistryAuth | null): Promise<string>;
  /** Runs to completion, timeout or abort; the container is gone when this returns or throws. */
  run(request: RunRequest, signal: AbortSignal): Promise<RunOutcome>;
  /** This deployment's job containers (of one job, when given). */
  listJobContainers(jobId?: string): Promise<JobContainer[]>;
  removeContainer(id: string): Promise<void>;
  /** Removes this deployment's containers of this job (and its unlabelled ones from before deployment labels); returns their ids. */
  removeJobContainers(jobId: string): Promise<string[]>;
}

export class RuntimeError extends Error {
  constructor(
    readonly step: 'ping' | 'info' | 'inspect' | 'pull' | 'distribution' | 'create' | 'start' | 'wait' | 'remove' | 'list',
    message: string,
    override readonly cause?: unknown,
  ) {
    super(`docker ${step}: ${message}`);
    this.name = 'RuntimeError';
  }
}

/** Why a registry did not give an image: the credentials, the name, or the registry itself. */
export type RegistryProblem = 'unauthorized' | 'unknown' | 'unreachable';

/** A registry's refusal, in words an operator can act on. */
export class RegistryError extends Error {
  constructor(
    readonly problem: RegistryProblem,
    readonly ref: string,
    readonly detail: string,
  ) {
    super(registryMessage(problem, ref, detail));
    this.name = 'RegistryError';
  }
}

function registryMessage(problem: RegistryProblem, ref: string, detail: string): string {
  const registry = parseImageRef(ref).registry ?? 'Docker Hub';
  switch (problem) {
    case 'unauthorized':
      return `the registry ${registry} refused the credentials for ${ref} (check registry.username and registry.password): ${detail}`;
    case 'unknown':
      return `the registry ${registry} has no image ${ref} (check the tag or digest in engines.json, or push it): ${detail}`;
    case 'unreachable':
      return `the registry ${registry} could not be reached for ${ref}: ${detail}`;
  }
}
