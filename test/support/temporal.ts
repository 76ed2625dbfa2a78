import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * Tests fail activities on purpose; the SDK's WARN line for each, with its
 * stack, buries the real output. Keep errors only (LOG_LEVEL=debug shows all).
 */
export function quietTemporalLogs(): void {
  const level = process.env.LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR';
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed in this module registry.
  }
}
