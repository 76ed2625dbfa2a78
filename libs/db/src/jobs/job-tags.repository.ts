import type { DataSource, EntityManager } from 'typeorm';

export interface JobTag {
  type: string;
  value: string;
}

/**
 * The tags of the reports of jobs that ran (job_tags, migration
 * 1764900000000), each (type, value) once per job. A job served another's
 * result (a cache hit, a follower) has none of its own: it is found through
 * the job it was served from (cached_from), by `taggedJobs` in the history.
 */
export class JobTagRepository {
  private readonly manager: EntityManager;

  constructor(dataSource: DataSource) {
    this.manager = dataSource.manager;
  }

  /** Sets a job's tags to `tags`, replacing any an earlier attempt wrote; one transaction. */
  async replace(jobId: string, tags: readonly JobTag[]): Promise<void> {
    await this.manager.transaction(async (tx) => {
      await tx.query(`DELETE FROM job_tags WHERE job_id = $1`, [jobId]);
      if (!tags.length) return;
      await tx.query(
        `INSERT INTO job_tags (job_id, type, value) SELECT $1, t.type, t.value FROM unnest($2::text[], $3::text[]) AS t(type, value)
         ON CONFLICT DO NOTHING`,
        [jobId, tags.map((t) => t.type), tags.map((t) => t.value)],
      );
    });
  }

  /** A job's tags (its source's, for a job served another's result), by type then value. */
  async of(jobId: string): Promise<JobTag[]> {
    return this.manager.query(
      `SELECT t.type, t.value FROM job_tags t JOIN jobs j ON t.job_id = COALESCE(j.cached_from, j.id)
       WHERE j.id = $1 ORDER BY t.type, t.value`,
      [jobId],
    );
  }
}

/**
 * The SQL condition "the job `alias` produced, or was served, a tag of
 * :tagType with :tagValue" (named parameters, as a query builder takes them):
 * the one rule of GET /jobs?tag=. A queued follower has no result yet, so it
 * never matches.
 */
export function taggedCondition(alias: string): string {
  const tagged = `SELECT job_id FROM job_tags WHERE type = :tagType AND value_md5 = md5(:tagValue)::uuid AND value = :tagValue`;
  return `(${alias}.id IN (${tagged}) OR (${alias}.cached_from IN (${tagged}) AND ${alias}.status = 'completed'))`;
}
