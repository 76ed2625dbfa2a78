import type { NodeEngine, NodeReport } from '@menagerie/core';

/** What the reporter needs to know of an engine. */
export interface ReportedEngine {
  readonly config: { readonly name: string; readonly image: string };
}

/** What looking an image up on this node's Docker daemon gave: its digest, absent (null), or an error. */
export type ImageLookup = { digest: string | null } | null;

export interface NodeReporterDeps<E extends ReportedEngine> {
  name: string;
  scratchDir: string;
  /** The engines of engines.json, as last loaded. */
  configured(): readonly E[];
  /** node.engines: serve only these (by name). Undefined: every engine this node can run. */
  only?: readonly string[];
  /** Looks an image up on this node's daemon; throws when the daemon does not answer. */
  inspectImage(ref: string): Promise<ImageLookup>;
  /**
   * With a registry configured: what the image's tag (or pinned digest) is at
   * the registry now. Throws, with a message that says why, when the registry
   * refuses or does not answer. Absent: no registry, missing images stay missing.
   */
  registryDigest?: (ref: string) => Promise<string>;
  /** The jobs this process runs now, by id, with their engine. */
  running(): ReadonlyMap<string, string>;
  /** Serves exactly these engines (the fleet); called when the set changes. */
  serve(engines: readonly E[]): Promise<void>;
  /** Records the report (the nodes table). */
  publish(report: NodeReport): Promise<void>;
}

/**
 * A worker process as a node: which engines it can run (their images are on
 * its Docker daemon, or a registry will give them), with the digest each
 * resolves to there; it serves those, and reports them, with its running
 * jobs, to the database, where the API reads them.
 *
 * An engine whose image is missing here (and can't be pulled) is not served,
 * so its jobs go to nodes that have it. While the daemon does not answer, the
 * engines served stay as they were (a dockerd restart must not stop them).
 */
export class NodeReporter<E extends ReportedEngine> {
  private served = new Map<string, E>();
  private last: NodeEngine[] = [];
  /** The digest of each image present on this node's daemon, as the last report found it. */
  private localDigests = new Map<string, string>();

  constructor(private readonly deps: NodeReporterDeps<E>) {}

  /**
   * What this node can say of each engine of engines.json, and which of them
   * to serve. An engine node.engines leaves out is reported too (not served,
   * and why): the API refuses only what reporting nodes say they can't run,
   * and takes an engine no node has reported on yet for one they have not
   * applied yet.
   */
  async facts(): Promise<{ engines: NodeEngine[]; serve: E[] }> {
    const engines: NodeEngine[] = [];
    const serve: E[] = [];
    const local = new Map<string, string>();
    const only = this.deps.only;
    for (const engine of this.deps.configured()) {
      const { name, image } = engine.config;
      if (only && !only.includes(name)) {
        engines.push({
          name,
          image,
          digest: null,
          available: false,
          serving: false,
          reason: `not among node ${this.deps.name}'s node.engines`,
        });
        continue;
      }
      let found: ImageLookup;
      try {
        found = await this.deps.inspectImage(image);
      } catch (err) {
        const reason = `this node's Docker daemon does not answer: ${err instanceof Error ? err.message : String(err)}`;
        const serving = this.served.has(name);
        engines.push({ name, image, digest: null, available: false, serving, reason });
        if (serving) serve.push(engine);
        continue;
      }
      if (found?.digest) local.set(image, found.digest);
      const fact = await this.factOf(name, image, found);
      engines.push(fact);
      if (fact.serving) serve.push(engine);
    }
    this.localDigests = local;
    return { engines, serve };
  }

  /**
   * An engine whose image this node's daemon answered for. With a registry,
   * the digest is the one its next job runs: what the registry says the tag is
   * now (a job pulls a version pushed under the same tag). A missing image the
   * registry refuses is reported unavailable with the registry's reason, but
   * still served: its jobs fail at once with that reason rather than wait.
   */
  private async factOf(name: string, image: string, found: { digest: string | null } | null): Promise<NodeEngine> {
    const registryDigest = this.deps.registryDigest;
    if (!registryDigest) {
      return found
        ? { name, image, digest: found.digest, available: true, serving: true, reason: null }
        : { name, image, digest: null, available: false, serving: false, reason: `image not found: ${image}` };
    }
    let wanted: string;
    try {
      wanted = await registryDigest(image);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return found
        ? { name, image, digest: found.digest, available: true, serving: true, reason: `running the image present here: ${why}` }
        : { name, image, digest: null, available: false, serving: true, reason: `image not found: ${image}: ${why}` };
    }
    if (!found)
      return {
        name,
        image,
        digest: wanted,
        available: true,
        serving: true,
        reason: `image not pulled yet: ${image} (pulled from the registry at its first job)`,
      };
    if (found.digest === wanted) return { name, image, digest: wanted, available: true, serving: true, reason: null };
    return {
      name,
      image,
      digest: wanted,
      available: true,
      serving: true,
      reason: `a newer version of ${image} is at the registry; pulled at the next job`,
    };
  }

  /** Serves what this node can run, then reports it. The report goes out even if serving failed. */
  async tick(): Promise<NodeEngine[]> {
    const { engines, serve } = await this.facts();
    this.last = engines;
    try {
      if (changed(this.served, serve)) {
        await this.deps.serve(serve);
        this.served = new Map(serve.map((e) => [e.config.name, e]));
      }
    } finally {
      await this.publish();
    }
    return engines;
  }

  /**
   * Whether an image this node last reported present now resolves to
   * another digest (a retag, a rebuild): cheap (one inspect per engine), so it
   * runs far more often than the report. The API's result cache trusts the
   * reported digest, so a change is reported at once (see `watch`). A missing
   * image or a daemon that does not answer is the periodic report's business.
   */
  async digestsMoved(): Promise<boolean> {
    for (const [image, digest] of this.localDigests) {
      const found = await this.deps.inspectImage(image).catch(() => null);
      if (found?.digest && found.digest !== digest) return true;
    }
    return false;
  }

  /** Checks the digests every `everyMs` and reports at once when one moved; answers the stop. */
  watchDigests(everyMs: number, onError: (err: unknown) => void): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.digestsMoved()
        .then((moved) => (moved ? this.tick() : undefined))
        .catch(onError)
        .finally(() => (busy = false));
    }, everyMs);
    return () => clearInterval(timer);
  }

  /** Reports what the last tick found, with the running jobs as they are now. */
  async publish(): Promise<void> {
    await this.deps.publish({
      name: this.deps.name,
      engines: this.last,
      running: [...this.deps.running()].map(([jobId, engine]) => ({ jobId, engine })),
      scratchDir: this.deps.scratchDir,
    });
  }
}

/** Whether `next` differs from what is served: another engine, or another configuration of one (a reload). */
function changed<E extends ReportedEngine>(served: ReadonlyMap<string, E>, next: readonly E[]): boolean {
  return served.size !== next.length || next.some((e) => served.get(e.config.name) !== e);
}
