import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, createMaintenanceActivities, type Activities } from '@menagerie/activities';
import { containerQueueFor, MAINTENANCE_QUEUE } from '@menagerie/core';
import { watchEngines, type MenagerieConfig } from '@menagerie/config';
import { createDataSource, JobRepository, runMigrations } from '@menagerie/db';
import type { Engine } from '@menagerie/engines';
import { DockerRuntime } from '@menagerie/runtime';
import { JobStore } from '@menagerie/storage';
import { ensureRetentionSchedule } from './retention';

export interface WorkerHandle {
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  /** Graceful: stops polling, lets running activities finish within the grace time. Safe to call twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundled once per process and shared by every engine's worker. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('@menagerie/workflows'), logger: new DefaultLogger('WARN') });
  return bundle;
}

export function installRuntime(logger: Logger): void {
  const level = (logger.level === 'debug' ? 'DEBUG' : 'INFO') as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const method = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      logger[method]({ ...entry.meta, context: 'temporal' }, entry.message);
    }),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
}

type Common = Pick<WorkerOptions, 'connection' | 'namespace' | 'shutdownGraceTime' | 'maxHeartbeatThrottleInterval'>;

interface EngineWorkers {
  workers: Worker[];
  runs: Promise<void>;
  /** Only `workers` changes how an engine's Temporal workers are built; the rest travels with each job. */
  concurrency: number;
  retiring: boolean;
}

/**
 * The Temporal workers of every configured engine, kept in line with
 * engines.json as it changes: a new engine gets its queues, a changed
 * `workers` count gets a fresh container worker, and a removed engine keeps
 * serving until its last job has ended.
 */
class EngineFleet {
  private readonly engines = new Map<string, EngineWorkers>();
  private closed = false;

  constructor(
    private readonly common: Common,
    private readonly bundleCode: WorkflowBundleWithSourceMap,
    private readonly activities: Activities,
    private readonly jobs: JobRepository,
    private readonly logger: Logger,
  ) {}

  private async start(engine: Engine): Promise<EngineWorkers> {
    const { runEngine, ...shortActivities } = this.activities;
    const name = engine.config.name;
    const workers = await Promise.all([
      Worker.create({ ...this.common, taskQueue: name, workflowBundle: this.bundleCode, activities: shortActivities }),
      Worker.create({
        ...this.common,
        taskQueue: containerQueueFor(name),
        activities: { runEngine },
        // `workers` bounds this engine's concurrent containers in this process.
        maxConcurrentActivityTaskExecutions: engine.config.workers,
      }),
    ]);
    this.logger.info({ engine: name, workers: engine.config.workers, image: engine.config.image }, 'engine workers started');
    return { workers, runs: Promise.all(workers.map((w) => w.run())).then(() => undefined), concurrency: engine.config.workers, retiring: false };
  }

  async apply(engines: Engine[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map(engines.map((e) => [e.config.name, e]));
    for (const [name, engine] of wanted) {
      const current = this.engines.get(name);
      if (!current || current.retiring) {
        if (current) this.stopWorkers(name, current);
        this.engines.set(name, await this.start(engine));
      } else if (current.concurrency !== engine.config.workers) {
        // Start the replacement first; the old workers finish what they run.
        this.engines.set(name, await this.start(engine));
        this.stopWorkers(name, current);
      }
    }
    for (const [name, current] of this.engines) {
      if (!wanted.has(name) && !current.retiring) {
        current.retiring = true;
        this.logger.info({ engine: name }, 'engine removed from engines.json; its workers stay until its jobs have ended');
      }
    }
    await this.retireIdle();
  }

  /** Stops the workers of removed engines that have no job left queued or running. */
  async retireIdle(): Promise<void> {
    for (const [name, current] of this.engines) {
      if (!current.retiring) continue;
      if ((await this.jobs.countByStatus(name, ['queued', 'running'])) > 0) continue;
      this.engines.delete(name);
      this.stopWorkers(name, current);
    }
  }

  private stopWorkers(name: string, entry: EngineWorkers): void {
    for (const w of entry.workers) if (w.getState() === 'RUNNING') w.shutdown();
    void entry.runs.then(() => this.logger.info({ engine: name }, 'engine workers stopped'));
  }

  get names(): string[] {
    return [...this.engines.keys()];
  }

  /** Resolves once every worker, including later replacements, has stopped. */
  async drain(): Promise<void> {
    while (this.engines.size) {
      const entries = [...this.engines.values()];
      await Promise.all(entries.map((e) => e.runs));
      for (const [name, e] of this.engines) if (entries.includes(e)) this.engines.delete(name);
    }
  }

  shutdown(): void {
    this.closed = true;
    for (const [name, e] of this.engines) this.stopWorkers(name, e);
  }
}

/** Starts the engine workers and the maintenance worker, and keeps them in line with engines.json. */
export async function startWorkers(config: MenagerieConfig, logger: Logger): Promise<WorkerHandle> {
  const { settings } = config;
  const dataSource = createDataSource(settings.database, 5);
  await dataSource.initialize();
  await runMigrations(dataSource);
  const store = new JobStore(config.storageDir);
  await store.init();
  const runtime = new DockerRuntime({ socketPath: settings.docker.socketPath });
  const jobs = new JobRepository(dataSource);
  const connection = await NativeConnection.connect({ address: settings.temporal.address });
  const common: Common = {
    connection,
    namespace: settings.temporal.namespace,
    shutdownGraceTime: '30 seconds',
    // Cancellation reaches an activity with a heartbeat answer: keep that prompt.
    maxHeartbeatThrottleInterval: '1 second',
  };
  const bundleCode = await workflowBundle();

  const activities = createActivities({
    store,
    runtime,
    jobs,
    allowRunflags: settings.allowRunflags,
    logLimitBytes: settings.logLimitBytes,
    logTailBytes: settings.logTailBytes,
    resultLimitBytes: settings.resultLimitBytes,
    jobDirLimitBytes: settings.jobDirLimitBytes,
    registry: settings.registry.enabled
      ? {
          auth: settings.registry.username
            ? { username: settings.registry.username, password: settings.registry.password, serveraddress: settings.registry.address }
            : null,
        }
      : null,
  });
  const fleet = new EngineFleet(common, bundleCode, activities, jobs, logger);
  await fleet.apply(config.engines);

  const maintenance = await Worker.create({
    ...common,
    taskQueue: MAINTENANCE_QUEUE,
    workflowBundle: bundleCode,
    activities: createMaintenanceActivities({ store, runtime, jobs }),
  });
  const maintenanceRun = maintenance.run();
  await ensureRetentionSchedule(connection, settings, logger);

  const watcher = watchEngines(
    config,
    async (engines) => {
      logger.info({ engines: engines.map((e) => e.config.name) }, 'engines.json changed');
      await fleet.apply(engines);
    },
    (err) => logger.error({ err: err instanceof Error ? err.message : err }, 'engines.json reload failed; keeping the previous engines'),
  );
  const retire = setInterval(() => void fleet.retireIdle().catch((err) => logger.warn({ err }, 'could not check retiring engines')), 5000);

  // Runtime.install's signal handlers shut every worker down; follow them.
  const done = (async () => {
    await maintenanceRun.catch((err) => logger.error({ err }, 'maintenance worker failed'));
    fleet.shutdown();
    await fleet.drain();
    watcher.stop();
    clearInterval(retire);
    await connection.close();
    await dataSource.destroy();
    logger.info('all workers stopped');
  })();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (maintenance.getState() === 'RUNNING') maintenance.shutdown();
      fleet.shutdown();
      await done;
    })();
    return stopping;
  };
  return { done, stop, [Symbol.asyncDispose]: stop };
}
