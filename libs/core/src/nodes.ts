import type { NodeEngine, NodeReport } from './contract';

/** A node as the database last heard from it. */
export interface SeenNode extends Pick<NodeReport, 'name' | 'engines' | 'running'> {
  lastSeenAt: Date;
  /** Seconds since it reported, by the database's clock. */
  ageSeconds: number;
}

/** A node that has not reported for this many report intervals is taken for gone. */
export const MISSED_REPORTS_BEFORE_GONE = 3;

export interface EngineServing {
  /** Some live node serves the engine. */
  available: boolean;
  /** Why not, when it isn't. */
  reason: string | null;
  /** The live nodes that serve it, with the digest its image resolves to on each. */
  nodes: Array<{ name: string; digest: string | null; lastSeenAt: string }>;
  /**
   * Whether the engine is known to be unrunnable right now: live nodes have
   * reported and none can run it. With no live node at all, nothing is known
   * (they may be restarting), and its jobs wait in the queue.
   */
  refused: boolean;
}

export function isLive(node: SeenNode, reportSeconds: number): boolean {
  return node.ageSeconds <= reportSeconds * MISSED_REPORTS_BEFORE_GONE;
}

/** Which live nodes serve `engine`, from what the nodes reported; the one rule the API's /engines, uploads and console follow. */
export function servingOf(engine: string, nodes: readonly SeenNode[], reportSeconds: number): EngineServing {
  const live = nodes.filter((n) => isLive(n, reportSeconds));
  const serving = live.flatMap((n) => {
    const fact = n.engines.find((e: NodeEngine) => e.name === engine);
    return fact?.available ? [{ name: n.name, digest: fact.digest, lastSeenAt: n.lastSeenAt.toISOString() }] : [];
  });
  if (serving.length) return { available: true, reason: null, nodes: serving, refused: false };
  if (!live.length) {
    const reason = nodes.length
      ? `no worker node has reported in the last ${reportSeconds * MISSED_REPORTS_BEFORE_GONE} s; jobs wait until one does`
      : 'no worker node has reported yet; jobs wait until one does';
    return { available: false, reason, nodes: [], refused: false };
  }
  const reasons = [...new Set(live.flatMap((n) => n.engines.filter((e) => e.name === engine && e.reason).map((e) => e.reason as string)))];
  const reason = reasons.length ? reasons.join('; ') : `no live worker node serves engine ${engine} (see node.engines)`;
  return { available: false, reason, nodes: [], refused: true };
}
