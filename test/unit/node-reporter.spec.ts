import { NodeReporter, type ImageLookup, type NodeReporterDeps, type ReportedEngine } from '@menagerie/fleet';
import type { NodeReport } from '@menagerie/core';

interface Engine extends ReportedEngine {
  readonly config: { readonly name: string; readonly image: string };
}
const engine = (name: string): Engine => ({ config: { name, image: `menagerie/${name}:1` } });

/** A reporter over a fake daemon: `images` maps a ref to its digest; `daemonDown` makes every lookup throw. */
function reporter(options: {
  engines: Engine[];
  images: Record<string, string>;
  /** The registry's tags (ref to digest); absent: no registry is configured. */
  registry?: Record<string, string>;
  only?: string[];
  running?: Map<string, string>;
}) {
  const state = {
    engines: options.engines,
    daemonDown: null as Error | null,
    serveFails: null as Error | null,
    registryDown: null as Error | null,
  };
  const registry = options.registry;
  const served: string[][] = [];
  const published: NodeReport[] = [];
  const deps: NodeReporterDeps<Engine> = {
    name: 'node-a',
    scratchDir: '/var/lib/menagerie/scratch',
    configured: () => state.engines,
    only: options.only,
    registryDigest: registry
      ? async (ref: string) => {
          if (state.registryDown) throw state.registryDown;
          if (!(ref in registry)) throw new Error(`the registry has no image ${ref}`);
          return registry[ref]!;
        }
      : undefined,
    inspectImage: async (ref: string): Promise<ImageLookup> => {
      if (state.daemonDown) throw state.daemonDown;
      return ref in options.images ? { digest: options.images[ref]! } : null;
    },
    running: () => options.running ?? new Map(),
    serve: async (engines) => {
      if (state.serveFails) throw state.serveFails;
      served.push(engines.map((e) => e.config.name));
    },
    publish: async (report) => void published.push(report),
  };
  return { node: new NodeReporter(deps), state, served, published };
}

describe('NodeReporter', () => {
  it('notices an image that now resolves to another digest (a retag), and only that: a missing image or a silent daemon waits for the report', async () => {
    const images: Record<string, string> = { 'menagerie/filemeta:1': 'sha256:f1', 'menagerie/yara:1': 'sha256:y1' };
    const t = reporter({ engines: [engine('filemeta'), engine('yara')], images });
    await t.node.tick();
    expect(await t.node.digestsMoved()).toBe(false);

    delete images['menagerie/yara:1'];
    expect(await t.node.digestsMoved()).toBe(false);
    t.state.daemonDown = new Error('connect ENOENT /var/run/docker.sock');
    expect(await t.node.digestsMoved()).toBe(false);
    t.state.daemonDown = null;

    images['menagerie/filemeta:1'] = 'sha256:f2';
    expect(await t.node.digestsMoved()).toBe(true);
    await t.node.tick();
    expect(t.published.at(-1)!.engines[0]).toMatchObject({ name: 'filemeta', digest: 'sha256:f2' });
    expect(await t.node.digestsMoved()).toBe(false);
  });

  it('serves the engines whose image is on this node, and reports the others unavailable, naming the image', async () => {
    const t = reporter({ engines: [engine('filemeta'), engine('yara')], images: { 'menagerie/filemeta:1': 'sha256:f1' } });

    const engines = await t.node.tick();

    expect(t.served).toEqual([['filemeta']]);
    expect(engines).toEqual([
      { name: 'filemeta', image: 'menagerie/filemeta:1', digest: 'sha256:f1', available: true, serving: true, reason: null },
      {
        name: 'yara',
        image: 'menagerie/yara:1',
        digest: null,
        available: false,
        serving: false,
        reason: 'image not found: menagerie/yara:1',
      },
    ]);
    expect(t.published.map((r) => r.engines)).toEqual([engines]);
  });

  it('with a registry, serves every engine it has or can pull, reporting the digest the next job runs', async () => {
    const images: Record<string, string> = { 'menagerie/filemeta:1': 'sha256:f1' };
    const registry: Record<string, string> = { 'menagerie/filemeta:1': 'sha256:f1', 'menagerie/yara:1': 'sha256:y1' };
    const t = reporter({ engines: [engine('filemeta'), engine('yara')], images, registry });

    expect(await t.node.tick()).toEqual([
      { name: 'filemeta', image: 'menagerie/filemeta:1', digest: 'sha256:f1', available: true, serving: true, reason: null },
      {
        name: 'yara',
        image: 'menagerie/yara:1',
        digest: 'sha256:y1',
        available: true,
        serving: true,
        reason: 'image not pulled yet: menagerie/yara:1 (pulled from the registry at its first job)',
      },
    ]);
    expect(t.served).toEqual([['filemeta', 'yara']]);

    // A version pushed under the same tag: the report says so at once (the API's cache keys on it), before a job pulls it.
    registry['menagerie/filemeta:1'] = 'sha256:f2';
    expect((await t.node.tick())[0]).toEqual({
      name: 'filemeta',
      image: 'menagerie/filemeta:1',
      digest: 'sha256:f2',
      available: true,
      serving: true,
      reason: 'a newer version of menagerie/filemeta:1 is at the registry; pulled at the next job',
    });
    // The local image has not moved: the per-second digest watch does not keep reporting.
    expect(await t.node.digestsMoved()).toBe(false);
  });

  it('with a registry that refuses or is down: a present image stays available, a missing one is unavailable with the reason yet served', async () => {
    const t = reporter({ engines: [engine('filemeta'), engine('yara')], images: { 'menagerie/filemeta:1': 'sha256:f1' }, registry: {} });
    t.state.registryDown = new Error('the registry 172.17.0.1:5000 could not be reached for menagerie/yara:1: connection refused');

    const engines = await t.node.tick();

    expect(engines).toEqual([
      {
        name: 'filemeta',
        image: 'menagerie/filemeta:1',
        digest: 'sha256:f1',
        available: true,
        serving: true,
        reason:
          'running the image present here: the registry 172.17.0.1:5000 could not be reached for menagerie/yara:1: connection refused',
      },
      {
        name: 'yara',
        image: 'menagerie/yara:1',
        digest: null,
        available: false,
        serving: true,
        reason:
          'image not found: menagerie/yara:1: the registry 172.17.0.1:5000 could not be reached for menagerie/yara:1: connection refused',
      },
    ]);
    // Served, so that its jobs fail at once with that reason rather than wait for a node.
    expect(t.served).toEqual([['filemeta', 'yara']]);
  });

  it('keeps serving what it served while the Docker daemon does not answer, reporting it unavailable with the reason', async () => {
    const t = reporter({ engines: [engine('filemeta'), engine('yara')], images: { 'menagerie/filemeta:1': 'sha256:f1' } });
    await t.node.tick();
    t.state.daemonDown = new Error('connect ENOENT /var/run/docker.sock');

    const engines = await t.node.tick();

    // filemeta stays served (no second serve call: the set is the same); yara, never served, is not started.
    expect(t.served).toEqual([['filemeta']]);
    expect(engines.map((e) => [e.name, e.available, e.serving, e.reason])).toEqual([
      ['filemeta', false, true, "this node's Docker daemon does not answer: connect ENOENT /var/run/docker.sock"],
      ['yara', false, false, "this node's Docker daemon does not answer: connect ENOENT /var/run/docker.sock"],
    ]);
    expect(t.published).toHaveLength(2);
  });

  it('serves anew only when the set of engines or their configuration objects change', async () => {
    const images = { 'menagerie/filemeta:1': 'sha256:f1', 'menagerie/yara:1': 'sha256:y1' };
    const t = reporter({ engines: [engine('filemeta')], images });
    await t.node.tick();
    await t.node.tick();
    expect(t.served).toEqual([['filemeta']]);

    t.state.engines = [...t.state.engines, engine('yara')]; // an engine added
    await t.node.tick();
    t.state.engines = [engine('filemeta'), t.state.engines[1]!]; // filemeta reloaded with a new configuration
    await t.node.tick();
    await t.node.tick();

    expect(t.served).toEqual([['filemeta'], ['filemeta', 'yara'], ['filemeta', 'yara']]);
    expect(t.published).toHaveLength(5);
  });

  it('considers only the engines node.engines names', async () => {
    const images = { 'menagerie/filemeta:1': 'sha256:f1', 'menagerie/yara:1': 'sha256:y1' };
    const t = reporter({ engines: [engine('filemeta'), engine('yara')], images, only: ['yara'] });

    const engines = await t.node.tick();

    expect(t.served).toEqual([['yara']]);
    // The one left out is reported as such, so the API refuses it rather than taking it for not applied yet.
    expect(engines).toEqual([
      {
        name: 'filemeta',
        image: 'menagerie/filemeta:1',
        digest: null,
        available: false,
        serving: false,
        reason: "not among node node-a's node.engines",
      },
      { name: 'yara', image: 'menagerie/yara:1', digest: 'sha256:y1', available: true, serving: true, reason: null },
    ]);
  });

  it('publishes its name, scratch root, what it found, and the jobs it runs now', async () => {
    const running = new Map<string, string>();
    const t = reporter({ engines: [engine('filemeta')], images: { 'menagerie/filemeta:1': 'sha256:f1' }, running });
    await t.node.tick();
    running.set('6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a', 'filemeta');

    await t.node.publish();

    expect(t.published[1]).toEqual({
      name: 'node-a',
      scratchDir: '/var/lib/menagerie/scratch',
      engines: [{ name: 'filemeta', image: 'menagerie/filemeta:1', digest: 'sha256:f1', available: true, serving: true, reason: null }],
      running: [{ jobId: '6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a', engine: 'filemeta' }],
    });
    expect(t.published[0]!.running).toEqual([]);
  });

  it('publishes even when serving fails, and serves again at the next tick', async () => {
    const t = reporter({ engines: [engine('filemeta')], images: { 'menagerie/filemeta:1': 'sha256:f1' } });
    t.state.serveFails = new Error('worker for filemeta.containers failed to start');

    await expect(t.node.tick()).rejects.toThrow('failed to start');
    expect(t.published.map((r) => r.engines.map((e) => e.name))).toEqual([['filemeta']]);

    t.state.serveFails = null;
    await t.node.tick();
    expect(t.served).toEqual([['filemeta']]);
  });
});
