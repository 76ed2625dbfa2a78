import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy, type ConnectionLike, type ScheduleOptions } from '@temporalio/client';
import type { Logger } from 'pino';
import { MAINTENANCE_QUEUE, RETENTION_SCHEDULE_ID } from '@menagerie/core';
import type { Settings } from '@menagerie/config';

/**
 * Creates the retention Schedule, or brings an existing one in line with the
 * current settings. Idempotent; every worker process may call it at boot.
 */
export async function ensureRetentionSchedule(connection: ConnectionLike, settings: Settings, logger: Logger): Promise<void> {
  const client = new Client({ connection, namespace: settings.temporal.namespace });
  const options: ScheduleOptions = {
    scheduleId: RETENTION_SCHEDULE_ID,
    spec: { intervals: [{ every: settings.retention.every as '1 hour' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'retentionSweep',
      taskQueue: MAINTENANCE_QUEUE,
      args: [{ olderThanDays: settings.retention.days }],
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
  try {
    await client.schedule.create(options);
    logger.info({ every: settings.retention.every, days: settings.retention.days }, 'retention schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(RETENTION_SCHEDULE_ID).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: { ...options.action, workflowId: (previous.action as { workflowId: string }).workflowId },
      policies: options.policies,
    }));
  }
}
