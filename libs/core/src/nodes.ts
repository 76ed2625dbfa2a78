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
  /** Some live node serves the engine and can run it now. */
  available: boolean;
  /** Why not, when it isn't. */
  reason: string | null;
  /** The live nodes that take its jobs, with the digest its image resolves to on each. */
  nodes: Array<{ name: string; digest: string | null; lastSeenAt: string }>;
  /**
   * Whether its uploads are refused: live nodes have reported on it and none
   * takes its jobs (its image is on none of them, or node.engines leaves it
   * out). With no live node at all, or none that has reported on it yet (an
   * engine just added), nothing is known and jobs wait in the queue; with a node
   * that takes them but can't run them now (its Docker daemon does not
   * answer), jobs are taken and retried.
   */
  refused: boolean;
}

export function isLive(node: SeenNode, reportSeconds: number): boolean {
  return node.ageSeconds <= reportSeconds * MISSED_REPORTS_BEFORE_GONE;
}

/** Which live nodes serve `engine`, from what the nodes reported; the one rule the API's /engines, uploads and console follow. */
export function servingOf(engine: string, nodes: readonly SeenNode[], reportSeconds: number): EngineServing {
  const live = nodes.filter((n) => isLive(n, reportSeconds));
  const facts = live.flatMap((n) => {
    const fact = n.engines.find((e: NodeEngine) => e.name === engine);
    return fact ? [{ node: n, fact }] : [];
  });
  const serving = facts
    .filter(({ fact }) => fact.serving)
    .map(({ node, fact }) => ({ name: node.name, digest: fact.digest, lastSeenAt: node.lastSeenAt.toISOString() }));
  const reasonsOf = (wanted: typeof facts) => [...new Set(wanted.flatMap(({ fact }) => (fact.reason ? [fact.reason] : [])))];
  if (facts.some(({ fact }) => fact.serving && fact.available)) return { available: true, reason: null, nodes: serving, refused: false };
  if (serving.length) {
    const reasons = reasonsOf(facts.filter(({ fact }) => fact.serving));
    return { available: false, reason: reasons.join('; ') || `engine ${engine} cannot run now`, nodes: serving, refused: false };
  }
  if (!live.length) {
    const reason = nodes.length
      ? `no worker node has reported in the last ${reportSeconds * MISSED_REPORTS_BEFORE_GONE} s; jobs wait until one does`
      : 'no worker node has reported yet; jobs wait until one does';
    return { available: false, reason, nodes: [], refused: false };
  }
  if (!facts.length) {
    // Live nodes that don't mention it have not applied the engines.json that added it yet (they do within a report interval).
    return {
      available: false,
      reason: `no worker node has reported on engine ${engine} yet; its jobs wait until one does`,
      nodes: [],
      refused: false,
    };
  }
  return {
    available: false,
    reason: reasonsOf(facts).join('; ') || `no live worker node can run engine ${engine}`,
    nodes: [],
    refused: true,
  };
}
