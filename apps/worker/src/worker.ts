import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, createMaintenanceActivities, sweepNode, type RunningJobs, type SweepLog } from '@menagerie/activities';
import { webhookActivitiesFor } from './webhooks';
import { MAINTENANCE_QUEUE, WEBHOOK_QUEUE } from '@menagerie/core';
import { watchEngines, type MenagerieConfig } from '@menagerie/config';
import {
  createDataSource,
  DataBundleRepository,
  JobRepository,
  JobRetentionRepository,
  JobTagRepository,
  MaintenanceRepository,
  NodeRepository,
  runMigrations,
  SubmissionRepository,
} from '@menagerie/db';
import { configuredEnv, type Engine } from '@menagerie/engines';
import { deploymentLabel, DockerRuntime } from '@menagerie/runtime';
import { createBlobStore, Scratch } from '@menagerie/storage';
import { EngineFleet, NodeReporter } from '@menagerie/fleet';
import { serveMetrics, WorkerMetrics, type MetricsServer } from '@menagerie/metrics';
import { ensureSearchAttributes, refuseUnrunnableWorkflows } from '@menagerie/temporal';
import { temporalEngineWorkers, type Common } from './engine-workers';
import { ensureRetentionSchedule } from './retention';
import { workflowBundle } from './runtime';

export { installRuntime, workflowBundle } from './runtime';

export interface WorkerHandle {
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  /** Graceful: stops polling, lets running activities finish within the grace time. Safe to call twice. */
  stop(): Promise<void>;
  /** Where this worker's metrics are scraped (with the port the OS chose for metrics.workerPort 0); null when they are off. */
  metricsUrl: string | null;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts the engine workers and the maintenance worker, and keeps them in line with engines.json. */
export async function startWorkers(config: MenagerieConfig, logger: Logger): Promise<WorkerHandle> {
  const { settings } = config;
  const dataSource = createDataSource(settings.database, 5);
  await dataSource.initialize();
  await runMigrations(dataSource);
  const node = config.node.name;
  const blobs = createBlobStore({ ...settings.storage, dir: config.storageDir });
  await blobs.init();
  const scratch = new Scratch(config.node.scratchDir, {
    node,
    filesystem: settings.storage.jobDirFilesystem,
    limitBytes: settings.jobDirLimitBytes,
    spares: settings.storage.spareJobDirs,
  });
  await scratch.init();
  const running: RunningJobs = new Map();
  const metrics = new WorkerMetrics({ node, runningContainers: () => running.size, scratchBytes: () => scratch.usedBytes() });
  const { workerPort, workerHost, token } = settings.metrics;
  // First: a port already taken stops the boot before this node takes any job.
  const metricsServer: MetricsServer | null =
    workerPort === null
      ? null
      : await serveMetrics({
          host: workerHost,
          port: workerPort,
          token,
          apiKeys: settings.auth.apiKeys,
          scrape: () => metrics.scrape(),
        }).catch((err: Error) => {
          throw new Error(
            `cannot serve the worker's metrics on ${workerHost}:${workerPort} (metrics.workerPort: 0 lets the OS choose a port, null turns them off): ${err.message}`,
          );
        });
  if (metricsServer) logger.info({ url: metricsServer.url }, 'worker metrics served');
  if (settings.storage.jobDirFilesystem === 'plain') {
    logger.warn(
      'storage.jobDirFilesystem is "plain": jobDirLimitBytes is checked by walking job directories, which a hostile engine can get past',
    );
  }
  const runtime = new DockerRuntime({
    docker: settings.docker,
    deployment: deploymentLabel(settings.deployment, settings.temporal.namespace),
    node,
    usernsRemap: settings.docker.usernsRemap,
  });
  // Said at boot when the daemon answers; a run asks again (the daemon may be down now, or restarted otherwise).
  await runtime.userNamespace().then(
    (ns) =>
      ns &&
      logger.info(
        { hostUid: ns.uid, hostGid: ns.gid, size: ns.size },
        'the Docker daemon remaps user namespaces: job directories go to the remapped ids',
      ),
    (err: Error) =>
      logger.warn({ err: err.message }, 'could not learn whether the Docker daemon remaps user namespaces; each run asks again'),
  );
  const jobs = new JobRepository(dataSource);
  const nodes = new NodeRepository(dataSource);
  const connection = await NativeConnection.connect({ address: settings.temporal.address });
  const common: Common = {
    connection,
    namespace: settings.temporal.namespace,
    shutdownGraceTime: '30 seconds',
    // Cancellation reaches an activity with a heartbeat answer: keep that prompt.
    maxHeartbeatThrottleInterval: '1 second',
  };
  const bundleCode = await workflowBundle();

  // Engines' environment values, by engine; kept for removed engines too, whose last jobs still run.
  const engineEnv = new Map<string, readonly string[]>();
  const rememberEnv = (engines: Engine[]) => engines.forEach((e) => engineEnv.set(e.config.name, configuredEnv(e)));
  rememberEnv(config.engines);

  const registry = settings.registry.enabled
    ? {
        auth: settings.registry.username
          ? { username: settings.registry.username, password: settings.registry.password, serveraddress: settings.registry.address }
          : null,
      }
    : null;
  const activities = createActivities({
    blobs,
    scratch,
    node,
    running,
    runtime,
    jobs,
    tags: new JobTagRepository(dataSource),
    allowRunflags: settings.allowRunflags,
    logLimitBytes: settings.logLimitBytes,
    logTailBytes: settings.logTailBytes,
    resultLimitBytes: settings.resultLimitBytes,
    engineEnv: (name) => engineEnv.get(name),
    observer: metrics,
    registry,
  });
  const fleet = new EngineFleet<Engine>({
    startWorkers: temporalEngineWorkers(common, bundleCode, activities, logger),
    countActive: (engine) => jobs.countByStatus(engine, ['queued', 'running']),
    logger,
  });

  // What this node leaves behind when it dies: swept at boot, before it takes a job, and then periodically.
  const sweepLog: SweepLog = {
    info: (message, meta) => logger.info({ ...meta, node }, message),
    warn: (message, meta) => logger.warn({ ...meta, node }, message),
  };
  const retention = new JobRetentionRepository(dataSource);
  const bundles = new DataBundleRepository(dataSource);
  const sweep = () => sweepNode({ node, log: sweepLog, runtime, scratch, jobs: retention, running, nodes, bundles });
  await sweep().catch((err) => logger.warn({ err: String(err) }, 'could not sweep this node at boot; the next sweep tries again'));

  let engines = config.engines;
  const bootedAt = new Date();
  const reporter = new NodeReporter<Engine>({
    name: node,
    scratchDir: config.node.scratchDir,
    configured: () => engines,
    only: settings.node.engines,
    inspectImage: (ref) => runtime.inspectImage(ref),
    registryDigest: registry ? (ref) => runtime.registryDigest(ref, registry.auth) : undefined,
    running: () => running,
    serve: (served) => fleet.apply(served),
    publish: (report) => nodes.report(report, bootedAt),
  });
  const registered = await ensureSearchAttributes(connection, settings.temporal.namespace);
  if (registered.length) logger.info({ searchAttributes: registered }, 'search attributes registered');
  // Before anything polls: an open workflow of a version this code no longer has would fail its every task.
  await refuseUnrunnableWorkflows(new Client({ connection, namespace: settings.temporal.namespace }));
  const facts = await reporter.tick();
  for (const missing of facts.filter((e) => !e.available))
    logger.warn({ engine: missing.name, reason: missing.reason }, 'not serving an engine');

  const maintenance = await Worker.create({
    ...common,
    taskQueue: MAINTENANCE_QUEUE,
    workflowBundle: bundleCode,
    activities: createMaintenanceActivities({
      blobs,
      jobs: retention,
      submissions: new SubmissionRepository(dataSource),
      cursors: new MaintenanceRepository(dataSource),
    }),
  });
  const maintenanceRun = maintenance.run();
  // Every worker process delivers webhooks, whatever engines it serves.
  const webhooks = await Worker.create({
    ...common,
    taskQueue: WEBHOOK_QUEUE,
    workflowBundle: bundleCode,
    activities: webhookActivitiesFor(settings, dataSource, metrics),
  });
  const webhooksRun = webhooks.run();
  await ensureRetentionSchedule(connection, settings, logger);

  const watcher = watchEngines(
    config,
    async (reloaded) => {
      logger.info({ engines: reloaded.map((e) => e.config.name) }, 'engines.json changed');
      rememberEnv(reloaded);
      engines = reloaded;
      await reporter.tick();
    },
    (err) => logger.error({ err: err instanceof Error ? err.message : err }, 'engines.json reload failed; keeping the previous engines'),
  );
  const retire = setInterval(() => void fleet.retireIdle().catch((err) => logger.warn({ err }, 'could not check retiring engines')), 5000);
  const report = setInterval(
    () =>
      void reporter.tick().catch((err) => logger.warn({ err: String(err) }, 'could not report this node; trying again at the next report')),
    settings.node.reportSeconds * 1000,
  );
  const stopDigestWatch = settings.node.digestCheckSeconds
    ? reporter.watchDigests(settings.node.digestCheckSeconds * 1000, (err) =>
        logger.warn({ err: String(err) }, 'could not report a moved image digest; the next report will'),
      )
    : () => undefined;
  const sweeping = setInterval(
    () => void sweep().catch((err) => logger.warn({ err: String(err) }, 'could not sweep this node; the next sweep tries again')),
    settings.node.sweepSeconds * 1000,
  );

  // Runtime.install's signal handlers shut every worker down; follow them. Failed engine workers stop the rest.
  const done = (async () => {
    const maintenanceStopped = maintenanceRun.catch((err) => logger.error({ err }, 'maintenance worker failed'));
    const webhooksStopped = webhooksRun.catch((err) => logger.error({ err }, 'webhook worker failed'));
    await Promise.race([maintenanceStopped, webhooksStopped, fleet.failed]);
    if (maintenance.getState() === 'RUNNING') maintenance.shutdown();
    if (webhooks.getState() === 'RUNNING') webhooks.shutdown();
    try {
      // Replaced engine workers may still run a job; the connection outlives them all.
      await Promise.all([maintenanceStopped, webhooksStopped, fleet.stop()]);
    } finally {
      watcher.stop();
      clearInterval(retire);
      clearInterval(report);
      stopDigestWatch();
      clearInterval(sweeping);
      await scratch.close(); // job directories still being removed, then the shells of the volumes' tools
      await blobs.close();
      await connection.close();
      await dataSource.destroy();
      await metricsServer?.close();
    }
    logger.info('all workers stopped');
  })();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (maintenance.getState() === 'RUNNING') maintenance.shutdown();
      if (webhooks.getState() === 'RUNNING') webhooks.shutdown();
      fleet.stop().catch(() => undefined); // `done` reports how it ended
      await done;
    })();
    return stopping;
  };
  return { done, stop, metricsUrl: metricsServer?.url ?? null, [Symbol.asyncDispose]: stop };
}
