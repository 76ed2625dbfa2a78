import { log, proxyActivities } from '@temporalio/workflow';
import type { ExpireInput, MaintenanceActivities } from '@menagerie/activities';

const { expireOldJobs, removeOrphanContainers } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3 },
});

/** Run by the retention Schedule: clears orphaned containers, then old files. */
export async function retentionSweep(input: ExpireInput): Promise<{ removedContainers: number; expiredJobs: number; orphanDirs: number }> {
  const { removed } = await removeOrphanContainers();
  const expired = await expireOldJobs(input);
  const report = { removedContainers: removed.length, ...expired };
  log.info('retention sweep done', report);
  return report;
}
