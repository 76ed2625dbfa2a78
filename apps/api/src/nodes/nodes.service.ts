import { Inject, Injectable } from '@nestjs/common';
import { MenagerieError, servingOf, type EngineServing, type SeenNode } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import type { NodeRepository, NodeView } from '@menagerie/db';
import { CONFIG, NODE_REPOSITORY } from '../common/tokens';

/** How long an upload may rely on the nodes last read (one read a second, whatever the upload rate). */
const FRESH_MS = 1000;

/**
 * What the worker nodes reported of themselves (the nodes table): the API
 * has no Docker daemon of its own, so this is how it knows which engines can
 * run, where, and on which image digest.
 */
@Injectable()
export class NodesService {
  private cached: { at: number; nodes: Promise<SeenNode[]> } | null = null;

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(NODE_REPOSITORY) private readonly repo: NodeRepository,
  ) {}

  /** Every node that reported, most recently seen first. */
  list(): Promise<NodeView[]> {
    return this.repo.list();
  }

  /** The nodes as read within the last second. */
  private recent(): Promise<SeenNode[]> {
    if (!this.cached || Date.now() - this.cached.at > FRESH_MS) {
      const nodes = this.repo.list();
      this.cached = { at: Date.now(), nodes };
      nodes.catch(() => (this.cached = null));
    }
    return this.cached.nodes;
  }

  async serving(engine: string, fresh = false): Promise<EngineServing> {
    const nodes = fresh ? await this.list() : await this.recent();
    return servingOf(engine, nodes, this.config.settings.node.reportSeconds);
  }

  /**
   * ENGINE_UNAVAILABLE when the live nodes say none can run the engine; with
   * no live node at all, or none that has reported on it yet, its jobs wait
   * for one. The rule uploads, submissions and retries follow.
   */
  async assertServes(engine: string): Promise<void> {
    // (A database that doesn't answer is the job row's to report.)
    const serving = await this.serving(engine).catch(() => null);
    if (serving?.refused) {
      throw new MenagerieError('ENGINE_UNAVAILABLE', `engine ${engine} cannot run on any worker node now: ${serving.reason}`, { engine });
    }
  }

  get reportSeconds(): number {
    return this.config.settings.node.reportSeconds;
  }
}
