import { EngineFleet, type EngineWorkers, type FleetEngine } from './engine-fleet';

/** An engine's workers as Temporal runs them: a stop waits for the job in hand. */
class FakeWorkers implements EngineWorkers {
  readonly run: Promise<void>;
  shutDown = false;
  private busy = false;
  private resolve!: () => void;
  private reject!: (err: unknown) => void;

  constructor(
    readonly engine: string,
    public concurrency: number,
  ) {
    this.run = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  startJob(): void {
    this.busy = true;
  }

  finishJob(): void {
    this.busy = false;
    if (this.shutDown) this.resolve();
  }

  fail(err: Error): void {
    this.reject(err);
  }

  resize(workers: number): void {
    this.concurrency = workers;
  }

  shutdown(): void {
    this.shutDown = true;
    if (!this.busy) this.resolve();
  }
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const engine = (name: string, workers = 2): FleetEngine => ({ config: { name, workers } });

/** Lets every callback already due run, so that what has not happened by then is waiting on something. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Resolves to whether `promise` has settled once everything already due has run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  return settled;
}

function setup() {
  const started: FakeWorkers[] = [];
  const active = new Map<string, number>();
  const gates = { start: Promise.resolve(), count: Promise.resolve() };
  const fleet = new EngineFleet<FleetEngine>({
    async startWorkers(e) {
      await gates.start;
      const workers = new FakeWorkers(e.config.name, e.config.workers);
      started.push(workers);
      return workers;
    },
    async countActive(name) {
      await gates.count;
      return active.get(name) ?? 0;
    },
    logger: { info: () => undefined, error: () => undefined },
  });
  const live = () => started.filter((w) => !w.shutDown).map((w) => `${w.engine}:${w.concurrency}`);
  return { fleet, started, active, gates, live };
}

/** stop() doesn't settle while `busy` runs its job, and does once the job ends. */
async function expectStopWaitsFor(fleet: EngineFleet<FleetEngine>, busy: FakeWorkers): Promise<void> {
  const stopped = fleet.stop();
  expect(await isSettled(stopped)).toBe(false);
  busy.finishJob();
  await stopped;
}

/** Engine `a`, removed from engines.json, retired by retireIdle while its worker still finishes a job. */
async function retiredWhileBusy() {
  const fixture = setup();
  await fixture.fleet.apply([engine('a')]);
  fixture.active.set('a', 1);
  await fixture.fleet.apply([]);
  fixture.started[0].startJob(); // its job's row is final, but the run has not returned yet
  fixture.active.set('a', 0);
  await fixture.fleet.retireIdle();
  return fixture;
}

describe('EngineFleet', () => {
  it('starts workers for each new engine and leaves unchanged ones alone', async () => {
    const { fleet, started, live } = setup();
    await fleet.apply([engine('a', 2)]);
    await fleet.apply([engine('a', 2), engine('b', 1)]);
    expect(live()).toEqual(['a:2', 'b:1']);
    expect(started).toHaveLength(2);
  });

  it('resizes the running workers of an engine whose `workers` count changed', async () => {
    const { fleet, started, live } = setup();
    await fleet.apply([engine('a', 2)]);
    await fleet.apply([engine('a', 3)]);
    expect(live()).toEqual(['a:3']);
    expect(started).toHaveLength(1);
  });

  it('keeps a removed engine serving until it has no job queued or running', async () => {
    const { fleet, active, live } = setup();
    await fleet.apply([engine('a'), engine('b')]);
    active.set('a', 1);
    await fleet.apply([engine('b')]);
    await fleet.retireIdle();
    expect(live()).toEqual(['a:2', 'b:2']);
    active.set('a', 0);
    await fleet.retireIdle();
    expect(live()).toEqual(['b:2']);
  });

  it('keeps the workers of a retiring engine that comes back, resized if its count changed', async () => {
    const { fleet, started, active, live } = setup();
    await fleet.apply([engine('a', 2)]);
    active.set('a', 1);
    await fleet.apply([]);
    await fleet.apply([engine('a', 3)]);
    active.set('a', 0);
    await fleet.retireIdle();
    expect(live()).toEqual(['a:3']);
    expect(started).toHaveLength(1);
  });

  it('stops every worker, waits for the job in hand, and can be stopped twice', async () => {
    const { fleet, started, live } = setup();
    await fleet.apply([engine('a'), engine('b')]);
    started[0].startJob();
    const stopped = fleet.stop();
    expect(live()).toEqual([]);
    expect(await isSettled(stopped)).toBe(false);
    started[0].finishJob();
    await stopped;
    await fleet.stop();
    await fleet.apply([engine('c')]);
    expect(started).toHaveLength(2);
  });

  it('stops workers that an apply still under way starts', async () => {
    const { fleet, started, gates, live } = setup();
    const gate = deferred();
    gates.start = gate.promise;
    const applied = fleet.apply([engine('a')]);
    await settle();
    const stopped = fleet.stop();
    gate.resolve();
    await applied;
    await stopped;
    expect(started).toHaveLength(1);
    expect(live()).toEqual([]);
  });

  it('resolves `failed` when workers fail, and stop() rejects with the error once all have stopped', async () => {
    const { fleet, started } = setup();
    await fleet.apply([engine('a'), engine('b')]);
    started[1].startJob();
    started[0].fail(new Error('poller died'));
    await fleet.failed;
    const stopped = fleet.stop();
    expect(await isSettled(stopped)).toBe(false);
    started[1].finishJob();
    await expect(stopped).rejects.toThrow('poller died');
  });

  // The old fleet replaced the workers and dropped the old ones from its map, so
  // drain() resolved while they still ran a job and the Temporal connection was closed under them.
  it('keeps serving with the same workers through a `workers` change, and stop waits for their job', async () => {
    const { fleet, started, live } = setup();
    await fleet.apply([engine('a', 2)]);
    started[0].startJob();
    await fleet.apply([engine('a', 3)]);
    expect(live()).toEqual(['a:3']);
    await expectStopWaitsFor(fleet, started[0]);
  });

  it('keeps serving with the same workers when a retiring engine comes back, and stop waits for their job', async () => {
    const { fleet, started, active, live } = setup();
    await fleet.apply([engine('a', 2)]);
    started[0].startJob();
    active.set('a', 1);
    await fleet.apply([]);
    await fleet.apply([engine('a', 3)]);
    expect(live()).toEqual(['a:3']);
    await expectStopWaitsFor(fleet, started[0]);
  });

  // retireIdle dropped retired workers from the map before they had stopped; drain() did not wait for them.
  it('waits on stop for retired workers that are still stopping', async () => {
    const { fleet, started } = await retiredWhileBusy();
    expect(started[0].shutDown).toBe(true);
    await expectStopWaitsFor(fleet, started[0]);
  });

  it('starts an engine that comes back only once its retired workers have stopped', async () => {
    const { fleet, started } = await retiredWhileBusy();
    const readded = fleet.apply([engine('a')]);
    await settle();
    expect(started).toHaveLength(1);
    started[0].finishJob();
    await readded;
    expect(started).toHaveLength(2);
  });

  // Unserialised, both edits saw no workers for the new engine and started one each; the first was never stopped.
  it('applies two quick edits one after the other, starting a new engine once', async () => {
    const { fleet, started, gates, live } = setup();
    await fleet.apply([engine('a')]);
    const gate = deferred();
    gates.start = gate.promise;
    const first = fleet.apply([engine('a'), engine('b', 3)]);
    const second = fleet.apply([engine('a'), engine('b', 4)]);
    gate.resolve();
    await Promise.all([first, second]);
    expect(live()).toEqual(['a:2', 'b:4']);
    expect(started).toHaveLength(2);
  });

  // The old retireIdle awaited the count, then deleted whatever the map held
  // by then: the workers an apply had just started, which nothing stopped afterwards.
  it('does not lose an engine re-added while retireIdle counts its jobs', async () => {
    const { fleet, started, active, gates, live } = setup();
    await fleet.apply([engine('a')]);
    active.set('a', 1);
    await fleet.apply([]);
    const gate = deferred();
    gates.count = gate.promise;
    active.set('a', 0);
    const retired = fleet.retireIdle();
    const readded = fleet.apply([engine('a')]);
    // Whatever can run before the count answers, has.
    await settle();
    gate.resolve();
    await Promise.all([retired, readded]);
    expect(live()).toEqual(['a:2']);
    await fleet.stop();
    expect(started.every((w) => w.shutDown)).toBe(true);
  });
});

describe('EngineFleet, when an engine cannot start', () => {
  it('starts the others, and tries it again on the next retireIdle', async () => {
    const started: string[] = [];
    let refuse = true;
    const errors: string[] = [];
    const fleet = new EngineFleet<FleetEngine>({
      async startWorkers(e) {
        if (e.config.name === 'broken' && refuse) throw new Error('task queue already polled');
        started.push(e.config.name);
        return new FakeWorkers(e.config.name, e.config.workers);
      },
      countActive: async () => 0,
      logger: { info: () => undefined, error: (obj) => void errors.push((obj as { engine: string }).engine) },
    });

    await fleet.apply([engine('broken'), engine('fine')]);
    expect(started).toEqual(['fine']);
    expect(errors).toEqual(['broken']);

    refuse = false;
    await fleet.retireIdle();
    expect(started).toEqual(['fine', 'broken']);
    await fleet.retireIdle();
    expect(started).toEqual(['fine', 'broken']);
    await fleet.stop();
  });
});
