import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { ExpireInput, MaintenanceActivities } from '@menagerie/activities';

const { expireOldJobs, removeOrphanContainers } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3 },
});

/*
 * From this version on, each worker node sweeps its own containers and
 * scratch directories (at boot and on a timer): a sweep run by whichever
 * node took this workflow's activity would see only that node's.
 */
const NODES_SWEEP_THEMSELVES = 'nodes-sweep-themselves';

/** Run by the retention Schedule: removes old files, abandoned uploads and unfinished multipart uploads. */
export async function retentionSweep(input: ExpireInput): Promise<{ removedContainers: number; expiredJobs: number; orphanDirs: number }> {
  const removed = patched(NODES_SWEEP_THEMSELVES) ? [] : (await removeOrphanContainers()).removed;
  const expired = await expireOldJobs(input);
  const report = { removedContainers: removed.length, ...expired };
  log.info('retention sweep done', report);
  return report;
}

const { abortStaleUploads } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3 },
});

/** Run by the stale-uploads Schedule: aborts the multipart uploads (partial files) that a process which died mid-upload left. */
export async function staleUploadsSweep(): Promise<{ aborted: number }> {
  return abortStaleUploads();
}
