import type { DataSource, Repository } from 'typeorm';
import { FINAL_STATUSES } from '@menagerie/core';
import { JobEntity } from '../job.entity';
import { ACTIVE_LEADER, RESULT_COLUMNS, resultValues } from './job-sql';

/** A follower whose identical job has ended, and how that job ended. */
export interface EndedLeader {
  follower: string;
  /** The follower's own upload's name (a hit's result is named after it). */
  followerName: string;
  leader: JobEntity;
}

/** Followers: queued jobs that wait for an identical job (`cached_from`, their leader) instead of running too. */
export class JobFollowerRepository {
  private readonly repo: Repository<JobEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
  }

  /**
   * Followers whose identical job has ended: of the leaders `ids` when given
   * (just announced ended), else of any (the periodic check).
   */
  async endedLeaders(ids: string[] | null, limit = 100): Promise<EndedLeader[]> {
    const qb = this.repo
      .createQueryBuilder('leader')
      .innerJoin(JobEntity, 'f', `f.cached_from = leader.id AND f.status = 'queued'`)
      .addSelect('f.id', 'follower_id')
      .addSelect('f.original_name', 'follower_name')
      .where('leader.status IN (:...final)', { final: FINAL_STATUSES })
      .orderBy('f.created_at')
      .limit(limit);
    if (ids) qb.andWhere('leader.id IN (:...ids)', { ids: ids.length ? ids : ['00000000-0000-0000-0000-000000000000'] });
    const { entities, raw } = await qb.getRawAndEntities<{ follower_id: string; follower_name: string; leader_id: string }>();
    const byId = new Map(entities.map((e) => [e.id, e]));
    return raw.flatMap((r) => {
      const leader = byId.get(r.leader_id);
      return leader ? [{ follower: r.follower_id, followerName: r.follower_name, leader }] : [];
    });
  }

  /**
   * A follower whose leader completed becomes a hit on it (its blobs already
   * shared; `leader.resultName` as the follower's result is to be named);
   * false when it was no longer waiting.
   */
  async completeFollower(follower: string, leader: JobEntity): Promise<boolean> {
    const set = RESULT_COLUMNS.map((column, i) => `${column} = $${i + 3}`).join(', ');
    const [rows]: [unknown[], number] = await this.repo.query(
      `UPDATE jobs SET status = 'completed', started_at = now(), finished_at = now(), ${set}
       WHERE id = $1 AND cached_from = $2 AND status = 'queued' RETURNING id`,
      [follower, leader.id, ...resultValues(leader)],
    );
    return rows.length > 0;
  }

  /**
   * The leader ended without a result (failed, timed out, cancelled): its
   * followers run after all, one at a time like identical uploads. They follow
   * an identical job that is active now, if there is one; else the oldest
   * leads and the rest follow it.
   */
  async releaseFollowers(leader: string): Promise<void> {
    await this.repo.manager.transaction(async (tx) => {
      const [self] = await tx.query(`SELECT cache_key FROM jobs WHERE id = $1`, [leader]);
      const active = self?.cache_key
        ? await tx.query(`SELECT id FROM jobs WHERE cache_key = $1 AND ${ACTIVE_LEADER} LIMIT 1 FOR UPDATE`, [self.cache_key])
        : [];
      const heir: string | undefined =
        active[0]?.id ??
        (
          await tx.query(`SELECT id FROM jobs WHERE cached_from = $1 AND status = 'queued' ORDER BY created_at, id LIMIT 1 FOR UPDATE`, [
            leader,
          ])
        )[0]?.id;
      if (!heir) return;
      await tx.query(
        `UPDATE jobs SET cached_from = CASE WHEN id = $2 THEN NULL ELSE $2::uuid END WHERE cached_from = $1 AND status = 'queued'`,
        [leader, heir],
      );
    });
  }
}
