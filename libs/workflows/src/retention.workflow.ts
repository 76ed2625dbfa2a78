import { deprecatePatch, log, proxyActivities } from '@temporalio/workflow';
import { WORKFLOW_PATCHES } from '@menagerie/core';
import type { ExpireInput, MaintenanceActivities } from '@menagerie/activities';
import { recordVersion } from './versions';

const { expireOldJobs, abortStaleUploads } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3 },
});

/**
 * Run by the retention Schedule: removes old files, abandoned uploads and
 * unfinished multipart uploads. Each worker node sweeps its own containers
 * and scratch directories (at boot and on a timer); v1, which also swept the
 * containers of whichever node took its activity, is gone (WORKFLOW_VERSIONS).
 */
export async function retentionSweep(input: ExpireInput): ReturnType<MaintenanceActivities['expireOldJobs']> {
  deprecatePatch(WORKFLOW_PATCHES.nodesSweepThemselves);
  recordVersion('retentionSweep');
  const report = await expireOldJobs(input);
  log.info('retention sweep done', { ...report });
  return report;
}

/** Run by the stale-uploads Schedule: aborts the multipart uploads (partial files) that a process which died mid-upload left. */
export async function staleUploadsSweep(): Promise<{ aborted: number }> {
  return abortStaleUploads();
}
