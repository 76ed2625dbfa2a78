import { isLive, servingOf, type NodeEngine, type SeenNode } from '@menagerie/core';

const SEEN = new Date('2026-12-01T10:00:00.000Z');
const REPORT_SECONDS = 10;

function node(name: string, ageSeconds: number, engines: NodeEngine[]): SeenNode {
  return { name, engines, running: [], lastSeenAt: SEEN, ageSeconds };
}
const serves = (name: string, digest: string): NodeEngine => ({
  name,
  image: `menagerie/${name}:1`,
  digest,
  available: true,
  serving: true,
  reason: null,
});
const lacks = (name: string, reason: string): NodeEngine => ({
  name,
  image: `menagerie/${name}:1`,
  digest: null,
  available: false,
  serving: false,
  reason,
});
/** Served (its jobs are taken) but not runnable now: the node's Docker daemon does not answer. */
const stalled = (name: string, reason: string): NodeEngine => ({
  name,
  image: `menagerie/${name}:1`,
  digest: null,
  available: false,
  serving: true,
  reason,
});

describe('isLive', () => {
  it('takes a node for live up to three report intervals since it reported, and for gone after', () => {
    expect(isLive(node('a', 0, []), REPORT_SECONDS)).toBe(true);
    expect(isLive(node('a', 30, []), REPORT_SECONDS)).toBe(true);
    expect(isLive(node('a', 30.5, []), REPORT_SECONDS)).toBe(false);
  });
});

describe('servingOf', () => {
  it('lists the live nodes that serve the engine, with their digests', () => {
    const nodes = [
      node('node-a', 5, [serves('filemeta', 'sha256:a')]),
      node('node-b', 29, [serves('filemeta', 'sha256:b'), serves('yara', 'sha256:y')]),
      node('node-c', 5, [serves('yara', 'sha256:y')]),
    ];
    expect(servingOf('filemeta', nodes, REPORT_SECONDS)).toEqual({
      available: true,
      reason: null,
      refused: false,
      nodes: [
        { name: 'node-a', digest: 'sha256:a', lastSeenAt: SEEN.toISOString() },
        { name: 'node-b', digest: 'sha256:b', lastSeenAt: SEEN.toISOString() },
      ],
    });
  });

  it('refuses an engine that live nodes reported but none can run, joining their distinct reasons', () => {
    const nodes = [
      node('node-a', 1, [lacks('yara', 'image not found: menagerie/yara:1'), serves('filemeta', 'sha256:a')]),
      node('node-b', 1, [lacks('yara', 'image not found: menagerie/yara:1')]),
      node('node-c', 1, [lacks('yara', "this node's Docker daemon does not answer: EOF")]),
      // A stale node that served it counts for nothing.
      node('node-d', 100, [serves('yara', 'sha256:y')]),
    ];
    expect(servingOf('yara', nodes, REPORT_SECONDS)).toEqual({
      available: false,
      reason: "image not found: menagerie/yara:1; this node's Docker daemon does not answer: EOF",
      nodes: [],
      refused: true,
    });
  });

  it('names a node that takes the jobs but cannot run them now, without refusing them (they are retried)', () => {
    const nodes = [
      node('node-a', 1, [stalled('yara', "this node's Docker daemon does not answer: EOF")]),
      node('node-b', 1, [lacks('yara', 'image not found: menagerie/yara:1')]),
    ];
    expect(servingOf('yara', nodes, REPORT_SECONDS)).toEqual({
      available: false,
      reason: "this node's Docker daemon does not answer: EOF",
      nodes: [{ name: 'node-a', digest: null, lastSeenAt: SEEN.toISOString() }],
      refused: false,
    });
  });

  it('is available when one node can run it, and lists every node that takes its jobs', () => {
    const nodes = [node('node-a', 1, [stalled('yara', 'daemon gone')]), node('node-b', 1, [serves('yara', 'sha256:y')])];
    expect(servingOf('yara', nodes, REPORT_SECONDS)).toEqual({
      available: true,
      reason: null,
      nodes: [
        { name: 'node-a', digest: null, lastSeenAt: SEEN.toISOString() },
        { name: 'node-b', digest: 'sha256:y', lastSeenAt: SEEN.toISOString() },
      ],
      refused: false,
    });
  });

  it('takes an engine no live node has reported on yet (just added to engines.json): its jobs wait for a node', () => {
    const nodes = [node('node-a', 1, [serves('filemeta', 'sha256:a')])];
    expect(servingOf('yara', nodes, REPORT_SECONDS)).toEqual({
      available: false,
      reason: 'no worker node has reported on engine yara yet; its jobs wait until one does',
      nodes: [],
      refused: false,
    });
  });

  it('refuses an engine every live node reports leaving out (node.engines), with their reasons', () => {
    const nodes = [
      node('node-a', 1, [serves('filemeta', 'sha256:a'), lacks('yara', "not among node node-a's node.engines")]),
      node('node-b', 1, [lacks('yara', "not among node node-b's node.engines")]),
    ];
    expect(servingOf('yara', nodes, REPORT_SECONDS)).toEqual({
      available: false,
      reason: "not among node node-a's node.engines; not among node node-b's node.engines",
      nodes: [],
      refused: true,
    });
  });

  it('does not refuse when every node is stale: jobs wait for one to come back', () => {
    const nodes = [node('node-a', 31, [serves('filemeta', 'sha256:a')])];
    expect(servingOf('filemeta', nodes, REPORT_SECONDS)).toEqual({
      available: false,
      reason: 'no worker node has reported in the last 30 s; jobs wait until one does',
      nodes: [],
      refused: false,
    });
  });

  it('does not refuse when no node has reported at all', () => {
    expect(servingOf('filemeta', [], REPORT_SECONDS)).toEqual({
      available: false,
      reason: 'no worker node has reported yet; jobs wait until one does',
      nodes: [],
      refused: false,
    });
  });
});
