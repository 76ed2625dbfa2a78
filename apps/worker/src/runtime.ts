import { bundleWorkflowCode, DefaultLogger, Runtime, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Settings } from '@menagerie/config';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundled once per process and shared by every engine's worker. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('@menagerie/workflows'), logger: new DefaultLogger('WARN') });
  return bundle;
}

/**
 * Once per process, before any connection or worker. With metrics.temporalPort,
 * the SDK serves its own worker metrics (task slots, poll and schedule-to-start
 * latencies, sticky cache, ...) with its Prometheus exporter on that port, in
 * Prometheus' conventions (seconds, _total): its exporter can't share the
 * worker's metrics port, and can't be asked for a free one.
 */
export function installRuntime(logger: Logger, metrics?: Settings['metrics']): void {
  const level = (logger.level === 'debug' ? 'DEBUG' : 'INFO') as LogLevel;
  const bindAddress = metrics?.temporalPort
    ? `${metrics.workerHost.includes(':') ? `[${metrics.workerHost}]` : metrics.workerHost}:${metrics.temporalPort}`
    : null;
  Runtime.install({
    ...(bindAddress
      ? {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } },
          },
        }
      : {}),
    logger: new DefaultLogger(level, (entry) => {
      const method = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      logger[method]({ ...entry.meta, context: 'temporal' }, entry.message);
    }),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
}
