import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { LEADER_ENDED_CHANNEL, type EndedLeader, type JobEndings, JobFollowerRepository } from '@menagerie/db';
import { shareResult, type BlobStore } from '@menagerie/storage';
import { Relay } from '@menagerie/core';
import { BLOB_STORE, JOB_ENDINGS } from '../common/tokens';
import { JobDispatcher } from './job-dispatcher.service';
import { ApiMetrics } from '@menagerie/metrics';

/** How long announced ends are gathered into one query. */
const BATCH_MS = 20;
/** How often every follower is checked, for an end no replica heard (a replica down at the time, a broken LISTEN). */
const CHECK_MS = 5000;

/**
 * Settles the jobs that wait for an identical one (followers: an upload that
 * arrived while the same engine, spec and input was queued or running). When
 * that job completes, each follower becomes a hit on it: its result and log
 * are shared and the row is completed. When it ends any other way, they run
 * after all, the oldest leading the rest. Driven by the database's job-ended
 * announcements, with a periodic check behind them; every replica runs one,
 * and settling a follower twice is harmless (the row changes once).
 */
@Injectable()
export class FollowersService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(FollowersService.name);
  /** Leaders announced ended since the last round. */
  private pending = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private readonly relay = new Relay({
    idleMs: CHECK_MS,
    round: (scan) => this.round(scan),
    failing: (rounds, err) =>
      this.logger.warn(`could not settle the jobs waiting for an identical one (${rounds} rounds): ${err.message}; retrying`),
    recovered: (rounds) => this.logger.log(`settling the jobs waiting for an identical one again after ${rounds} failed rounds`),
  });

  constructor(
    private readonly followers: JobFollowerRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(JOB_ENDINGS) private readonly endings: JobEndings,
    private readonly metrics: ApiMetrics,
    private readonly dispatcher: JobDispatcher,
  ) {}

  onApplicationBootstrap(): void {
    // Announced only for jobs that followers wait for (the trigger checks): not every end.
    // null: the connection broke, and announcements may have been missed.
    this.unsubscribe = this.endings.subscribe((id) => {
      if (id) {
        this.pending.add(id);
        this.relay.wake(BATCH_MS);
      } else this.relay.rescan(BATCH_MS);
    }, LEADER_ENDED_CHANNEL);
    this.relay.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.relay.stop();
  }

  /** The followers of the leaders announced ended, or of any (a scan). Announced ids a failed round did not settle wait for the next. */
  private async round(scan: boolean): Promise<void> {
    const ids = [...this.pending];
    this.pending = new Set();
    try {
      await this.settleAll(scan ? null : ids);
    } catch (err) {
      for (const id of ids) this.pending.add(id);
      throw err;
    }
  }

  private async settleAll(ids: string[] | null): Promise<void> {
    for (;;) {
      const ended = await this.followers.endedLeaders(ids);
      const released = new Set<string>();
      for (const e of ended) await this.settle(e, released);
      if (ended.length < 100) return;
    }
  }

  private async settle({ follower, followerName, leader }: EndedLeader, released: Set<string>): Promise<void> {
    const resultName = leader.status === 'completed' && (await shareResult(this.store, leader, follower, followerName, leader.engine));
    if (resultName) {
      if (await this.followers.completeFollower(follower, { ...leader, resultName })) {
        this.metrics.jobEnded(leader.engine, 'completed');
        this.logger.log({ jobId: follower, cachedFrom: leader.id }, 'served from the identical job it waited for');
      }
      return;
    }
    if (released.has(leader.id)) return;
    released.add(leader.id);
    await this.followers.releaseFollowers(leader.id);
    this.dispatcher.wake(); // the one that now leads is an unstarted row: start it now, not at the next idle check
    this.logger.log({ leader: leader.id, status: leader.status }, 'the identical job ended without a result; the jobs waiting for it run');
  }
}
