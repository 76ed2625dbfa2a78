import { FINAL_STATUSES, type FinalStatus } from '@menagerie/core';
import type { EndedLeader, JobEndings, JobEntity, JobFollowerRepository } from '@menagerie/db';
import { ApiMetrics } from '@menagerie/metrics';
import type { BlobStore } from '@menagerie/storage';
import { FollowersService } from '../../apps/api/src/jobs/followers.service';
import type { JobDispatcher } from '../../apps/api/src/jobs/job-dispatcher.service';
import { until } from '../support/until';

const LEADER = '6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a';
const FOLLOWER = '0d3c2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a';

/** Settles one follower of a leader that ended `status`, and answers what the service did to the rows. */
async function settle(status: FinalStatus, resultName: string | null): Promise<{ completed: string[]; released: string[]; woken: number }> {
  const leader = { id: LEADER, status, engine: 'copy', resultName, originalName: 'in.txt' } as JobEntity;
  const done = { completed: [] as string[], released: [] as string[], woken: 0 };
  let asked = false;
  const jobs = {
    endedLeaders: async (): Promise<EndedLeader[]> => {
      if (asked) return [];
      asked = true;
      return [{ follower: FOLLOWER, followerName: 'again.txt', leader }];
    },
    completeFollower: async (follower: string) => {
      done.completed.push(follower);
      return true;
    },
    releaseFollowers: async (id: string) => {
      done.released.push(id);
    },
  } as unknown as JobFollowerRepository;
  const store = { share: async () => true } as unknown as BlobStore;
  const endings = { subscribe: () => () => undefined } as unknown as JobEndings;
  const dispatcher = { wake: () => void done.woken++ } as unknown as JobDispatcher;
  const service = new FollowersService(
    jobs,
    store,
    endings,
    new ApiMetrics({ engines: () => ['copy'], activeJobs: async () => new Map() }),
    dispatcher,
  );
  service.onApplicationBootstrap();
  try {
    await until('the follower settled', async () => done.completed.length + done.released.length > 0, 5000, 5);
  } finally {
    await service.beforeApplicationShutdown();
  }
  return done;
}

describe('FollowersService', () => {
  it('serves a follower from a leader that completed with a result', async () => {
    expect(await settle('completed', 'in.txt.json')).toEqual({ completed: [FOLLOWER], released: [], woken: 0 });
  });

  it.each(FINAL_STATUSES.filter((s): s is FinalStatus => s !== 'completed'))(
    'releases the followers of a leader that ended %s, and starts the one that now leads',
    async (status) => {
      expect(await settle(status, null)).toEqual({ completed: [], released: [LEADER], woken: 1 });
    },
  );
});
