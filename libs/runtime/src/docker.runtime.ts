import Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { PassThrough } from 'node:stream';
import { within, type UserNamespace } from '@menagerie/core';
import { CappedLog } from './capped-log';
import { registryFailure, reason, statusOf, unreachable } from './docker.errors';
import { containerOptions } from './docker.create-options';
import { askUserNamespace } from './docker.userns';
import { repoDigestFor } from './image-ref';
import {
  DEPLOYMENT_LABEL,
  JOB_LABEL,
  NODE_LABEL,
  RegistryError,
  RuntimeError,
  type ContainerRuntime,
  type ImageInfo,
  type JobContainer,
  type RegistryAuth,
  type RunOutcome,
  type RunRequest,
} from './container.runtime';

/** How long a registry gets to say what a tag is before it counts as unreachable. */
const REGISTRY_TIMEOUT_MS = 10_000;

export interface DockerRuntimeOptions {
  /** The daemon's socket, or a client to use. */
  docker: { socketPath: string } | Docker;
  /** The value of the deployment label (see deploymentLabel) this runtime creates, lists and removes. */
  deployment: string;
  /** The node label this runtime puts on what it creates. */
  node?: string;
  /**
   * The daemon's user namespace as configured (docker.usernsRemap), for a
   * worker that cannot read the host's /etc/subuid (one in a container); null
   * or absent: learnt from the daemon and the subordinate id files.
   */
  usernsRemap?: UserNamespace | null;
  /** Where the daemon's subordinate id ranges are (/etc/subuid, /etc/subgid). */
  subordinateIds?: { uid: string; gid: string };
}

export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly deployment: string;
  private readonly node: string | null;
  private readonly usernsRemap: UserNamespace | null;
  private readonly subordinateIds: { uid: string; gid: string };
  private userns: Promise<UserNamespace | null> | null = null;

  constructor(options: DockerRuntimeOptions) {
    this.node = options.node ?? null;
    this.usernsRemap = options.usernsRemap ?? null;
    this.subordinateIds = options.subordinateIds ?? { uid: '/etc/subuid', gid: '/etc/subgid' };
    this.docker = options.docker instanceof Docker ? options.docker : new Docker({ socketPath: options.docker.socketPath });
    this.deployment = options.deployment;
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new RuntimeError('ping', unreachable(err) ?? `the Docker daemon does not answer: ${reason(err)}`, err);
    }
  }

  /**
   * Asked of the daemon once (a daemon's remapping is fixed while it runs; a
   * failure is asked again): `docker info` lists `name=userns` among its
   * security options and keeps its data under `<data-root>/<uid>.<gid>`, the
   * host ids of its containers' root; the range's length is in /etc/subuid
   * and /etc/subgid, unless docker.usernsRemap says it all.
   */
  userNamespace(): Promise<UserNamespace | null> {
    this.userns ??= askUserNamespace(this.docker, this.usernsRemap, this.subordinateIds).catch((err: unknown) => {
      this.userns = null;
      throw err;
    });
    return this.userns;
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return { id: info.Id, digest: repoDigestFor(ref, info.RepoDigests) ?? info.Id };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw new RuntimeError('inspect', reason(err), err);
    }
  }

  async pullImage(ref: string, auth: RegistryAuth | null, onProgress: (line: string) => void): Promise<void> {
    try {
      const stream = await this.docker.pull(ref, auth ? { authconfig: auth } : {});
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null) => (err ? reject(err) : resolve()),
          (event: { status?: string; id?: string; progress?: string; error?: string }) => {
            if (event.error) reject(new Error(event.error));
            else onProgress([event.id, event.status, event.progress].filter(Boolean).join(' '));
          },
        );
      });
    } catch (err) {
      throw registryFailure('pull', ref, err);
    }
  }

  async registryDigest(ref: string, auth: RegistryAuth | null): Promise<string> {
    let answer: { Descriptor?: { digest?: string } };
    try {
      answer = await within(this.docker.getImage(ref).distribution(auth ? { authconfig: auth } : {}), REGISTRY_TIMEOUT_MS, () => {
        return new RegistryError('unreachable', ref, `no answer within ${REGISTRY_TIMEOUT_MS / 1000} s`);
      });
    } catch (err) {
      throw err instanceof RegistryError ? err : registryFailure('distribution', ref, err);
    }
    const digest = answer.Descriptor?.digest;
    if (!digest) throw new RegistryError('unknown', ref, 'the registry gave no digest');
    return digest;
  }

  createOptions(req: RunRequest): ContainerCreateOptions {
    return containerOptions(req, this.deployment, this.node);
  }

  async run(req: RunRequest, signal: AbortSignal): Promise<RunOutcome> {
    const log = new CappedLog(req.logLimitBytes);
    // Listening before anything starts: an abort that arrives while the container is
    // being created or started must still stop it (an 'abort' event fires only once).
    let onAbort: (() => void) | undefined;
    const cancelled = new Promise<'cancelled'>((resolve) => {
      onAbort = () => resolve('cancelled');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(this.createOptions(req));
    } catch (err) {
      signal.removeEventListener('abort', onAbort!);
      throw new RuntimeError('create', reason(err), err);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const output = await container.attach({ stream: true, stdout: true, stderr: true });
      const sink = new PassThrough();
      sink.on('data', (chunk: Buffer) => log.write(chunk));
      container.modem.demuxStream(output, sink, sink);
      const outputDone = new Promise<void>((resolve) => {
        output.on('end', resolve);
        output.on('close', resolve);
        output.on('error', () => resolve());
      });

      if (signal.aborted) return this.outcome(null, false, true, false, log, null);
      const startedAt = new Date();
      try {
        await container.start();
      } catch (err) {
        throw new RuntimeError('start', reason(err), err);
      }
      // One wait, asked once the container has started: "not-running" answers at once for a container
      // that already exited, so nothing is missed and nothing need be polled.
      const exited = container.wait({ condition: 'not-running' }) as Promise<{ StatusCode?: number }>;
      exited.catch(() => undefined); // awaited below, whichever comes first
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), req.timeoutMs);
      });
      const first = await Promise.race([exited.then(() => 'exited' as const), timedOut, cancelled]);
      if (first !== 'exited') await container.kill().catch(() => undefined);

      let exitCode: number | null = null;
      let oomKilled = false;
      try {
        exitCode = (await exited).StatusCode ?? null;
        // A clean exit was no OOM kill; any other end is asked about it (a killed child may have made the engine exit 1).
        if (exitCode !== 0) oomKilled = (await container.inspect()).State.OOMKilled === true;
      } catch (err) {
        throw new RuntimeError('wait', reason(err), err);
      }
      await Promise.race([outputDone, new Promise((r) => setTimeout(r, 2000))]);
      return this.outcome(first === 'exited' ? exitCode : null, first === 'timeout', first === 'cancelled', oomKilled, log, startedAt);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort!);
      await this.removeContainer(container.id);
    }
  }

  private outcome(
    exitCode: number | null,
    timedOut: boolean,
    cancelled: boolean,
    oomKilled: boolean,
    log: CappedLog,
    startedAt: Date | null,
  ): RunOutcome {
    return {
      exitCode,
      timedOut,
      cancelled,
      oomKilled,
      log: log.toBuffer(),
      logTail: (bytes) => log.tailText(bytes),
      startedAt,
    };
  }

  async listJobContainers(jobId?: string): Promise<JobContainer[]> {
    try {
      const list = await this.docker.listContainers({
        all: true,
        filters: { label: [`${DEPLOYMENT_LABEL}=${this.deployment}`, jobId ? `${JOB_LABEL}=${jobId}` : JOB_LABEL] },
      });
      // The daemon already filtered; checked again because removing another deployment's container is not recoverable.
      return list
        .filter((c) => c.Labels[DEPLOYMENT_LABEL] === this.deployment)
        .map((c) => ({ id: c.Id, jobId: c.Labels[JOB_LABEL], state: c.State, node: c.Labels[NODE_LABEL] ?? null }));
    } catch (err) {
      throw new RuntimeError('list', reason(err), err);
    }
  }

  /**
   * Also takes this job's containers that carry no deployment label: made
   * before the label existed, by an attempt of this very job (its id is this
   * deployment's own UUID), they would otherwise run beside its retry.
   */
  async removeJobContainers(jobId: string): Promise<string[]> {
    let leftovers: string[];
    try {
      const list = await this.docker.listContainers({ all: true, filters: { label: [`${JOB_LABEL}=${jobId}`] } });
      leftovers = list
        .filter((c) => c.Labels[JOB_LABEL] === jobId && [this.deployment, undefined].includes(c.Labels[DEPLOYMENT_LABEL]))
        .map((c) => c.Id);
    } catch (err) {
      throw new RuntimeError('list', reason(err), err);
    }
    for (const id of leftovers) await this.removeContainer(id);
    return leftovers;
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const code = statusOf(err);
      if (code === 404 || (code === 409 && /already in progress/.test(reason(err)))) return;
      throw new RuntimeError('remove', reason(err), err);
    }
  }
}
