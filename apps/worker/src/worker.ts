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
import { createActivities } from '@menagerie/activities';
import { containerQueueFor } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { createDataSource, JobRepository, runMigrations } from '@menagerie/db';
import { DockerRuntime } from '@menagerie/runtime';
import { JobStore } from '@menagerie/storage';

export interface WorkerHandle {
  /** Resolves when every engine's worker has stopped. */
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

/** Starts one Temporal Worker per engine, each on the task queue named after its engine. */
export async function startWorkers(config: MenagerieConfig, logger: Logger): Promise<WorkerHandle> {
  const { settings } = config;
  const dataSource = createDataSource(settings.database, 5);
  await dataSource.initialize();
  await runMigrations(dataSource);
  const store = new JobStore(config.storageDir);
  await store.init();
  const connection = await NativeConnection.connect({ address: settings.temporal.address });

  const activities = createActivities({
    store,
    runtime: new DockerRuntime({ socketPath: settings.docker.socketPath }),
    jobs: new JobRepository(dataSource),
    allowRunflags: settings.allowRunflags,
    logLimitBytes: settings.logLimitBytes,
    logTailBytes: settings.logTailBytes,
    resultLimitBytes: settings.resultLimitBytes,
  });
  const workflowBundleCode = await workflowBundle();
  const { runEngine, ...shortActivities } = activities;
  const common: Pick<WorkerOptions, 'connection' | 'namespace' | 'shutdownGraceTime' | 'maxHeartbeatThrottleInterval'> = {
    connection,
    namespace: settings.temporal.namespace,
    shutdownGraceTime: '30 seconds',
    // Cancellation reaches an activity with a heartbeat answer: keep that prompt.
    maxHeartbeatThrottleInterval: '1 second',
  };
  const workers = (
    await Promise.all(
      config.engines.map((engine) =>
        Promise.all([
          Worker.create({
            ...common,
            taskQueue: engine.config.name,
            workflowBundle: workflowBundleCode,
            activities: shortActivities,
          }),
          Worker.create({
            ...common,
            taskQueue: containerQueueFor(engine.config.name),
            activities: { runEngine },
            // `workers` bounds this engine's concurrent containers in this process.
            maxConcurrentActivityTaskExecutions: engine.config.workers,
          }),
        ]),
      ),
    )
  ).flat();
  for (const engine of config.engines) {
    logger.info({ engine: engine.config.name, workers: engine.config.workers, image: engine.config.image }, 'engine worker started');
  }

  const done = Promise.all(workers.map((w) => w.run())).then(async () => {
    await connection.close();
    await dataSource.destroy();
    logger.info('all engine workers stopped');
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    })();
    return stopping;
  };
  return { done, stop, [Symbol.asyncDispose]: stop };
}
