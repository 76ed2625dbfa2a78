import type { DataSource, Repository } from 'typeorm';
import { FINAL_STATUSES, type JobStatus } from '@menagerie/core';
import { JobEntity } from '../job.entity';
import { prepared } from '../prepared';

/** What starting a job's workflow needs from its row. */
export interface UnstartedJob {
  id: string;
  sha256: string;
  originalName: string;
  /** Whose stored input it reads; null: its own. */
  inputFrom: string | null;
  forced: boolean;
  /** The data bundle versions it was given at upload (bundle -> digest); null for an engine without bundles. */
  data: Record<string, string | null> | null;
}

/**
 * The jobs table as the outbox of workflow starts: a queued row with no run
 * id is a job whose workflow the API's dispatcher must still start.
 */
export class JobOutboxRepository {
  private readonly repo: Repository<JobEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
  }

  /**
   * Accepted jobs of `engine` whose workflow was not started yet, oldest
   * first: queued with no run id. (The history's (engine, status, created_at)
   * index walks them in order; the started ones ahead of them are few.)
   */
  async unstarted(engine: string, limit: number): Promise<UnstartedJob[]> {
    // Followers wait for their identical job instead (JobFollowerRepository.endedLeaders).
    const { rows } = await prepared<{
      id: string;
      sha256: string;
      original_name: string;
      input_from: string | null;
      forced: boolean;
      data: UnstartedJob['data'];
    }>(
      this.repo.manager,
      `SELECT id, sha256, original_name, input_from, forced, data FROM jobs
       WHERE engine = $1 AND status = 'queued' AND run_id IS NULL AND cached_from IS NULL ORDER BY created_at, id LIMIT $2`,
      [engine, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      sha256: r.sha256,
      originalName: r.original_name,
      inputFrom: r.input_from,
      forced: r.forced,
      data: r.data,
    }));
  }

  /**
   * Records the runs of started workflows, in one UPDATE. Answers the ids
   * among them whose job had meanwhile ended (cancelled before its start),
   * whose workflows must then be cancelled too.
   */
  async markStarted(started: Array<{ id: string; runId: string }>): Promise<string[]> {
    if (!started.length) return [];
    const { rows } = await prepared<{ id: string; status: JobStatus }>(
      this.repo.manager,
      `UPDATE jobs AS j SET run_id = s.run_id FROM unnest($1::uuid[], $2::text[]) AS s(id, run_id)
       WHERE j.id = s.id AND j.run_id IS NULL RETURNING j.id, j.status`,
      [started.map((s) => s.id), started.map((s) => s.runId)],
    );
    return rows.filter((r) => FINAL_STATUSES.includes(r.status)).map((r) => r.id);
  }

  /** Cancels a job whose workflow was not started yet; false when it was (or the job ended). */
  async cancelUnstarted(id: string): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.repo.query(
      `UPDATE jobs SET status = 'cancelled', finished_at = now(), error = 'cancelled before it started'
       WHERE id = $1 AND status = 'queued' AND run_id IS NULL RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /** Jobs of `engine` whose workflow was started that no node has taken yet. */
  async countStartedQueued(engine: string): Promise<number> {
    const rows: Array<{ n: number }> = await this.repo.query(
      `SELECT count(*)::int AS n FROM jobs WHERE engine = $1 AND status = 'queued' AND run_id IS NOT NULL`,
      [engine],
    );
    return rows[0].n;
  }

  /**
   * Jobs whose workflow was started and that have not ended: the ones whose
   * workflow must still be open in Temporal (see the API's JobReconciler).
   * Oldest first, at most `limit`.
   */
  async startedUnfinished(limit: number): Promise<Array<{ id: string; workflowId: string; engine: string }>> {
    const { rows } = await prepared<{ id: string; workflow_id: string; engine: string }>(
      this.repo.manager,
      `SELECT id, workflow_id, engine FROM jobs WHERE status IN ('queued', 'running') AND run_id IS NOT NULL ORDER BY created_at, id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, workflowId: r.workflow_id, engine: r.engine }));
  }

  /** The engines, other than `configured`, that have jobs whose workflow was never started. */
  async unstartedEnginesOtherThan(configured: string[]): Promise<string[]> {
    const rows: Array<{ engine: string }> = await this.repo.query(
      `SELECT DISTINCT engine FROM jobs WHERE status = 'queued' AND run_id IS NULL AND engine <> ALL($1::varchar[])`,
      [configured],
    );
    return rows.map((r) => r.engine);
  }

  /**
   * Ends, failed with `error`, every job of `engine` whose workflow was never
   * started: those that lead, and those that follow one that can't run
   * either (a follower of a started job waits for it, as ever). Answers the
   * ids it ended.
   */
  async failUnstarted(engine: string, error: string): Promise<string[]> {
    const [rows]: [Array<{ id: string }>, number] = await this.repo.query(
      `UPDATE jobs SET status = 'failed', finished_at = now(), error = $2
       WHERE engine = $1 AND status = 'queued' AND run_id IS NULL
         AND (cached_from IS NULL OR NOT EXISTS (
           SELECT 1 FROM jobs leader WHERE leader.id = jobs.cached_from AND leader.run_id IS NOT NULL AND leader.status IN ('queued', 'running')))
       RETURNING id`,
      [engine, error],
    );
    return rows.map((r) => r.id);
  }
}
