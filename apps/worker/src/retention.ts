import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy, type ConnectionLike, type ScheduleOptions } from '@temporalio/client';
import type { Logger } from 'pino';
import { MAINTENANCE_QUEUE, RETENTION_SCHEDULE_ID, STALE_UPLOADS_SCHEDULE_ID } from '@menagerie/core';
import type { Settings } from '@menagerie/config';

/**
 * Creates the retention Schedule and the stale-uploads one, or brings
 * existing ones in line with the current settings. Idempotent; every worker
 * process may call it at boot.
 */
export async function ensureRetentionSchedule(connection: ConnectionLike, settings: Settings, logger: Logger): Promise<void> {
  const client = new Client({ connection, namespace: settings.temporal.namespace });
  /** A maintenance workflow every `retention.every`, one run at a time. */
  const every = (scheduleId: string, workflowType: string, args: unknown[]): ScheduleOptions => ({
    scheduleId,
    spec: { intervals: [{ every: settings.retention.every as '1 hour' }] },
    action: { type: 'startWorkflow', workflowType, taskQueue: MAINTENANCE_QUEUE, args, workflowExecutionTimeout: '1 hour' },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  });
  await ensureSchedule(client, every(RETENTION_SCHEDULE_ID, 'retentionSweep', [{ olderThanDays: settings.retention.days }]), logger, {
    every: settings.retention.every,
    days: settings.retention.days,
  });
  // Its own schedule: unfinished uploads are aborted whatever retention's sweep is doing.
  await ensureSchedule(client, every(STALE_UPLOADS_SCHEDULE_ID, 'staleUploadsSweep', []), logger, { every: settings.retention.every });
}

/** Creates the Schedule, or brings an existing one in line with `options`. */
async function ensureSchedule(client: Client, options: ScheduleOptions, logger: Logger, facts: Record<string, unknown>): Promise<void> {
  try {
    await client.schedule.create(options);
    logger.info({ schedule: options.scheduleId, ...facts }, 'schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: { ...options.action, workflowId: (previous.action as { workflowId: string }).workflowId },
      policies: options.policies,
    }));
  }
}
