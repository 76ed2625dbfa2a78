/** What the fleet needs to know of an engine. */
export interface FleetEngine {
  readonly config: {
    readonly name: string;
    /** Bounds the engine's concurrent containers in this process; the only field that changes how its workers are built. */
    readonly workers: number;
  };
}

/** The started workers of one engine. */
export interface EngineWorkers {
  /** Settles when every one of these workers has stopped; rejects if one failed. */
  readonly run: Promise<void>;
  /** Changes how many containers they may run at once; running ones are not touched. */
  resize(workers: number): void;
  /** Stops polling; running jobs finish within the grace time. Safe to call twice. */
  shutdown(): void;
}

export interface FleetLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EngineFleetDeps<E extends FleetEngine> {
  /** Starts an engine's workers; they run until shut down. Never called while earlier ones of the engine are still stopping. */
  startWorkers(engine: E): Promise<EngineWorkers>;
  /** How many of the engine's jobs are queued or running. */
  countActive(engine: string): Promise<number>;
  logger: FleetLogger;
}

interface Running {
  readonly name: string;
  readonly workers: EngineWorkers;
  /** `workers.run`, settled: resolves once they have stopped, whether or not they failed. */
  readonly stopped: Promise<void>;
  concurrency: number;
  retiring: boolean;
}

/**
 * The workers of every configured engine, kept in line with engines.json as
 * it changes: a new engine gets workers, a changed `workers` count resizes
 * them in place, and a removed engine keeps serving until its last job has
 * ended. An engine has one set of workers at a time: Temporal refuses a
 * second worker on a task queue the process already polls.
 *
 * Changes are applied one at a time, in the order asked: each one reads what
 * the previous one left. `stop()` waits for every worker asked to stop,
 * retired ones included.
 */
export class EngineFleet<E extends FleetEngine> {
  private readonly engines = new Map<string, Running>();
  /** Workers asked to stop that have not stopped yet. */
  private readonly stopping = new Set<Running>();
  /** The tail of the apply/retireIdle queue. */
  private queue: Promise<void> = Promise.resolve();
  private queuedRetire: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private reportFailure!: () => void;
  /** The engines last asked for, and those of them whose workers could not be started: retried by retireIdle. */
  private wanted: readonly E[] = [];
  private unstarted = new Set<string>();

  /** Resolves when an engine's workers fail; `stop()` then rejects with the error. */
  readonly failed = new Promise<void>((resolve) => (this.reportFailure = resolve));

  constructor(private readonly deps: EngineFleetDeps<E>) {}

  /** Brings the workers in line with `engines`, once every earlier change has been applied. */
  apply(engines: readonly E[]): Promise<void> {
    return this.serially(() => this.applyNow(engines));
  }

  /**
   * Stops the workers of removed engines that have no job left queued or
   * running, and starts again those of engines whose start failed.
   */
  retireIdle(): Promise<void> {
    // A check already waiting in the queue will see whatever a new one would.
    this.queuedRetire ??= this.serially(() => {
      this.queuedRetire = undefined;
      return this.unstarted.size ? this.applyNow(this.wanted) : this.retireIdleNow();
    });
    return this.queuedRetire;
  }

  /**
   * Stops every worker and resolves once all have stopped, those retired
   * earlier included. Rejects, after that, if any of them failed. Safe to call twice.
   */
  stop(): Promise<void> {
    this.closing ??= (async () => {
      for (const running of this.engines.values()) this.retire(running);
      this.engines.clear();
      // A change under way may still start workers: applyNow stops them at once.
      for (let tail = this.queue; ; tail = this.queue) {
        await tail;
        if (tail === this.queue && this.stopping.size === 0) break;
        await Promise.all([...this.stopping].map((r) => r.stopped));
      }
      if (this.failure) throw this.failure.error;
    })();
    return this.closing;
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(engines: readonly E[]): Promise<void> {
    this.wanted = engines;
    this.unstarted = new Set();
    const wanted = new Map(engines.map((e) => [e.config.name, e]));
    for (const [name, engine] of wanted) {
      if (this.closing) return;
      const workers = engine.config.workers;
      const current = this.engines.get(name);
      if (current) {
        if (current.retiring) {
          current.retiring = false;
          this.deps.logger.info({ engine: name }, 'engine back in engines.json; its workers keep serving');
        }
        if (current.concurrency !== workers) {
          current.workers.resize(workers);
          this.deps.logger.info({ engine: name, workers, was: current.concurrency }, 'engine workers resized');
          current.concurrency = workers;
        }
        continue;
      }
      // Retired workers of this engine may still be stopping: their task queues are not free before they have.
      await Promise.all([...this.stopping].filter((r) => r.name === name).map((r) => r.stopped));
      if (this.closing) return;
      let started: EngineWorkers;
      try {
        started = await this.deps.startWorkers(engine);
      } catch (err) {
        // One engine that can't start must not hold back the others, nor the retiring.
        this.unstarted.add(name);
        this.deps.logger.error({ engine: name, err }, 'could not start the engine workers; trying again shortly');
        continue;
      }
      const next = this.watch(name, started, workers);
      if (this.closing) {
        this.retire(next);
        return;
      }
      this.engines.set(name, next);
    }
    for (const [name, running] of this.engines) {
      if (!wanted.has(name) && !running.retiring) {
        running.retiring = true;
        this.deps.logger.info({ engine: name }, 'engine removed from engines.json; its workers stay until its jobs have ended');
      }
    }
    await this.retireIdleNow();
  }

  private async retireIdleNow(): Promise<void> {
    for (const [name, running] of [...this.engines]) {
      if (!running.retiring) continue;
      if ((await this.deps.countActive(name)) > 0) continue;
      // stop() may have taken it meanwhile.
      if (this.engines.get(name) !== running) continue;
      this.engines.delete(name);
      this.retire(running);
    }
  }

  private watch(name: string, workers: EngineWorkers, concurrency: number): Running {
    const running: Running = {
      name,
      workers,
      concurrency,
      retiring: false,
      stopped: workers.run.then(
        () => this.deps.logger.info({ engine: name }, 'engine workers stopped'),
        (error: unknown) => {
          this.deps.logger.error({ engine: name, err: error }, 'engine workers failed');
          this.failure ??= { error };
          this.reportFailure();
        },
      ),
    };
    return running;
  }

  /** Asks the workers to stop and keeps them until they have. */
  private retire(running: Running): void {
    running.workers.shutdown();
    this.stopping.add(running);
    void running.stopped.then(() => this.stopping.delete(running));
  }
}
