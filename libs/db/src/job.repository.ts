import { Brackets, In, type DataSource, type EntityManager, type Repository, type SelectQueryBuilder } from 'typeorm';
import {
  encodeJobCursor,
  FINAL_STATUSES,
  MenagerieError,
  type FinalizeJobInput,
  type JobCursor,
  type JobSearch,
  type JobStatus,
} from '@menagerie/core';
import { JobEntity } from './job.entity';
import { hydrate, prepared } from './prepared';

const STATUS_CHUNK = 1000;

export interface NewJob {
  id: string;
  engine: string;
  originalName: string;
  size: number;
  sha256: string;
  image: string;
  workflowId: string;
  /** The type detected from the input's bytes. */
  inputMime?: string | null;
  /** Uploaded with force=true. */
  forced?: boolean;
  /**
   * The cache key, when the upload could compute it: a job with one that is
   * identical to a queued or running job becomes that job's follower
   * (`cachedFrom`) instead of running too.
   */
  cacheKey?: string | null;
  /** A cache hit: the completed job whose result it serves (its blobs already shared to `id`). */
  hit?: JobEntity | null;
  submissionId?: string | null;
  /** Whose stored input the job reads (a submission's); absent: its own. */
  inputFrom?: string | null;
  /** A retry: the job it runs again. */
  retryOf?: string | null;
}

/** A follower whose identical job has ended, and how that job ended. */
/** A job as the write of its final status ended it. */
export interface FinalizedJob {
  engine: string;
  createdAt: Date;
  /** When its container started; null when none did. */
  startedAt: Date | null;
}

export interface EndedLeader {
  follower: string;
  /** The follower's own upload's name (a hit's result is named after it). */
  followerName: string;
  leader: JobEntity;
}

const ACTIVE_LEADER = `cache_key IS NOT NULL AND cached_from IS NULL AND status IN ('queued', 'running')`;
const JOB_COLUMNS = `id, engine, status, original_name, size, sha256, image, workflow_id, input_mime, forced, submission_id, input_from, retry_of, cache_key`;
/** How often an insert tries between "lead" and "follow" while the identical job it would follow ends under it. */
const ADMIT_TRIES = 3;

function valuesOf(job: NewJob, cacheKey: string | null): unknown[] {
  return [
    ...[job.id, job.engine, job.originalName, job.size, job.sha256, job.image, job.workflowId, job.inputMime ?? null, job.forced ?? false],
    ...[job.submissionId ?? null, job.inputFrom ?? null, job.retryOf ?? null, cacheKey],
  ];
}

/**
 * Records a new job, in `manager`'s transaction when it has one: a cache
 * hit as completed, at once; otherwise queued (the outbox), leading or
 * following an identical queued or running job. One INSERT in the common
 * case. What the repositories share; only they call it.
 */
export async function insertJob(manager: EntityManager, job: NewJob): Promise<JobEntity> {
  const row = (created: Date, over: Partial<JobEntity>) =>
    manager.create(JobEntity, {
      ...job,
      status: 'queued',
      inputMime: job.inputMime ?? null,
      forced: job.forced ?? false,
      submissionId: job.submissionId ?? null,
      inputFrom: job.inputFrom ?? null,
      retryOf: job.retryOf ?? null,
      retriedAs: null,
      cacheKey: job.cacheKey ?? null,
      cachedFrom: null,
      runId: null,
      createdAt: created,
      ...{ imageDigest: null, startedAt: null, finishedAt: null, exitCode: null, error: null, logTail: null },
      ...{ resultName: null, resultSize: null, resultMime: null, node: null, expiredAt: null },
      ...over,
    });
  const hit = job.hit;
  if (hit) {
    const { rows } = await prepared<{ created_at: Date; finished_at: Date }>(
      manager,
      `INSERT INTO jobs (${JOB_COLUMNS}, cached_from, image_digest, started_at, finished_at, exit_code, log_tail, result_name, result_size, result_mime)
       VALUES ($1, $2, 'completed', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now(), now(), $16, $17, $18, $19, $20)
       RETURNING created_at, finished_at`,
      [
        ...valuesOf(job, hit.cacheKey),
        hit.id,
        hit.imageDigest,
        hit.exitCode,
        textOrNull(hit.logTail),
        hit.resultName,
        hit.resultSize,
        hit.resultMime,
      ],
    );
    return row(rows[0].created_at, {
      status: 'completed',
      cacheKey: hit.cacheKey,
      cachedFrom: hit.id,
      imageDigest: hit.imageDigest,
      startedAt: rows[0].finished_at,
      finishedAt: rows[0].finished_at,
      exitCode: hit.exitCode,
      logTail: hit.logTail,
      resultName: hit.resultName,
      resultSize: hit.resultSize,
      resultMime: hit.resultMime,
    });
  }
  const insert = `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;
  if (!job.cacheKey) {
    const { rows } = await prepared<{ created_at: Date }>(manager, `${insert} RETURNING created_at`, valuesOf(job, null));
    return row(rows[0].created_at, {});
  }
  for (let i = 0; i < ADMIT_TRIES; i++) {
    // Leads, unless an identical job is queued or running (the unique index decides, also against an insert not yet committed)...
    const { rows: led } = await prepared<{ created_at: Date }>(
      manager,
      `${insert} ON CONFLICT (cache_key) WHERE ${ACTIVE_LEADER} DO NOTHING RETURNING created_at`,
      valuesOf(job, job.cacheKey),
    );
    if (led.length) return row(led[0].created_at, {});
    // ...which it then follows, unless that one ended meanwhile.
    const { rows: followed } = await prepared<{ created_at: Date; cached_from: string }>(
      manager,
      `INSERT INTO jobs (${JOB_COLUMNS}, cached_from)
       SELECT $1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, leader.id FROM jobs leader
       WHERE leader.cache_key = $13 AND leader.cached_from IS NULL AND leader.status IN ('queued', 'running') LIMIT 1
       RETURNING created_at, cached_from`,
      valuesOf(job, job.cacheKey),
    );
    if (followed.length) return row(followed[0].created_at, { cachedFrom: followed[0].cached_from });
  }
  // Identical jobs keep ending as this one arrives: it runs on its own (the worker records its key when it completes).
  const { rows } = await prepared<{ created_at: Date }>(manager, `${insert} RETURNING created_at`, valuesOf(job, null));
  return row(rows[0].created_at, { cacheKey: null });
}

/** What starting a job's workflow needs from its row. */
export interface UnstartedJob {
  id: string;
  sha256: string;
  originalName: string;
  /** Whose stored input it reads; null: its own. */
  inputFrom: string | null;
  forced: boolean;
}

export interface JobPage {
  items: JobEntity[];
  /** Exact when `totalExact`; otherwise PostgreSQL's planner estimate, and then above EXACT_TOTAL_LIMIT. */
  total: number;
  totalExact: boolean;
  /** The page number asked for; null for a page asked by cursor. */
  page: number | null;
  limit: number;
  /** From `total`, so an estimate too when it is. */
  pages: number;
  /** The cursor of the next (older) page; null on the last. */
  next: string | null;
  /** The cursor of the previous (newer) page; null on the first. */
  prev: string | null;
}

/**
 * Totals up to this are counted exactly (a count that stops one row past
 * it); above, the planner's estimate is given instead, flagged as such: an
 * exact count reads every matching row, seconds at 10 M.
 */
export const EXACT_TOTAL_LIMIT = 1_000;

/** The cursor's createdAt in microseconds, which a JS Date would round away. */
const CURSOR_AT = `to_char(job.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `%`, `_` and `\\` match literally. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** PostgreSQL text can't hold NUL; engine output may contain anything. */
function textOrNull(value: string | null | undefined): string | null {
  return value == null ? null : value.replace(/\u0000/g, '\ufffd');
}

/** The only place that touches the jobs table. */
export class JobRepository {
  private readonly repo: Repository<JobEntity>;
  /**
   * Every column the entity maps, named: a prepared `SELECT *` would fail
   * (SQLSTATE 0A000) on every pooled connection once a migration adds a
   * column to the live table.
   */
  private readonly columns: string;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
    this.columns = this.repo.metadata.columns.map((c) => `"${c.databaseName}"`).join(', ');
  }

  /**
   * One INSERT, one round trip (`save` would SELECT the id first and wrap the
   * INSERT in a transaction of its own). The row is the outbox: queued with no
   * run id, its workflow is started by the API's dispatcher (see `unstarted`).
   * A cache hit is recorded completed; an identical upload, as a follower.
   */
  async create(job: NewJob): Promise<JobEntity> {
    return insertJob(this.repo.manager, job);
  }

  async findById(id: string): Promise<JobEntity | null> {
    return this.one(`SELECT ${this.columns} FROM jobs WHERE id = $1`, [id]);
  }

  /** The job of a SELECT of `columns` that answers at most one row, hydrated as TypeORM would (see prepared). */
  private async one(text: string, values: unknown[]): Promise<JobEntity | null> {
    const { rows } = await prepared<Record<string, unknown>>(this.repo.manager, text, values);
    return rows.length ? hydrate<JobEntity>(this.repo.manager, this.repo.metadata, rows[0]) : null;
  }

  /** The job, or JOB_NOT_FOUND: what every reader of one job by id answers. */
  async get(id: string): Promise<JobEntity> {
    const job = await this.findById(id);
    if (!job) throw new MenagerieError('JOB_NOT_FOUND', `no job with id ${id}`);
    return job;
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  /**
   * Accepted jobs of `engine` whose workflow was not started yet, oldest
   * first: queued with no run id. (The history's (engine, status, created_at)
   * index walks them in order; the started ones ahead of them are few.)
   */
  async unstarted(engine: string, limit: number): Promise<UnstartedJob[]> {
    // Followers wait for their identical job instead (endedLeaders).
    const { rows } = await prepared<{ id: string; sha256: string; original_name: string; input_from: string | null; forced: boolean }>(
      this.repo.manager,
      `SELECT id, sha256, original_name, input_from, forced FROM jobs
       WHERE engine = $1 AND status = 'queued' AND run_id IS NULL AND cached_from IS NULL ORDER BY created_at, id LIMIT $2`,
      [engine, limit],
    );
    return rows.map((r) => ({ id: r.id, sha256: r.sha256, originalName: r.original_name, inputFrom: r.input_from, forced: r.forced }));
  }

  /**
   * The newest completed run (not a hit: a TTL counts from when the engine
   * really ran) with this cache key that finished after `since` and whose
   * files retention has not removed.
   */
  async findCached(cacheKey: string, since: Date): Promise<JobEntity | null> {
    return this.one(
      `SELECT ${this.columns} FROM jobs WHERE cache_key = $1 AND cached_from IS NULL AND status = 'completed' AND expired_at IS NULL
         AND finished_at > $2 AND result_name IS NOT NULL ORDER BY finished_at DESC LIMIT 1`,
      [cacheKey, since],
    );
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
    const [rows]: [unknown[], number] = await this.repo.query(
      `UPDATE jobs SET status = 'completed', started_at = now(), finished_at = now(), cache_key = $3, image_digest = $4, exit_code = $5,
         log_tail = $6, result_name = $7, result_size = $8, result_mime = $9
       WHERE id = $1 AND cached_from = $2 AND status = 'queued' RETURNING id`,
      [
        follower,
        leader.id,
        leader.cacheKey,
        leader.imageDigest,
        leader.exitCode,
        textOrNull(leader.logTail),
        leader.resultName,
        leader.resultSize,
        leader.resultMime,
      ],
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

  /** Records a retry of `original` (a new job, queued: the outbox) and links the two, in one transaction. */
  async createRetry(original: string, job: NewJob): Promise<JobEntity> {
    return this.repo.manager.transaction(async (tx) => {
      const created = await insertJob(tx, { ...job, retryOf: original });
      await tx.query(`UPDATE jobs SET retried_as = $2 WHERE id = $1`, [original, job.id]);
      return created;
    });
  }

  /** A submission's jobs, in the order their engines were asked. */
  async bySubmission(submissionId: string): Promise<JobEntity[]> {
    return this.repo.find({ where: { submissionId }, order: { createdAt: 'ASC', id: 'ASC' } });
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

  /** Jobs of `engine` whose workflow was started that no node has taken yet. */
  async countStartedQueued(engine: string): Promise<number> {
    const rows: Array<{ n: number }> = await this.repo.query(
      `SELECT count(*)::int AS n FROM jobs WHERE engine = $1 AND status = 'queued' AND run_id IS NOT NULL`,
      [engine],
    );
    return rows[0].n;
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

  /** Moves a job to running unless it already reached a final status. */
  async markRunning(id: string, image: string, imageDigest: string | null, node: string | null = null): Promise<void> {
    await prepared(
      this.repo.manager,
      `UPDATE jobs SET status = 'running', image = $2, image_digest = $3, started_at = COALESCE(started_at, now()), node = COALESCE($4, node)
       WHERE id = $1 AND status <> ALL($5::varchar[])`,
      [id, image, imageDigest, node, FINAL_STATUSES],
    );
  }

  /**
   * Records the final status, once: the first write wins. A step replayed
   * after a worker crash (when the job directory is already gone) must not
   * overwrite how the job really ended. Answers the job as this write ended
   * it, or null when it had ended already (so each end is counted once).
   */
  async finalize(input: FinalizeJobInput): Promise<FinalizedJob | null> {
    const { rows } = await prepared<{ engine: string; created_at: Date; started_at: Date | null }>(
      this.repo.manager,
      `UPDATE jobs SET status = $2, finished_at = $15, exit_code = $3, error = $4, log_tail = $5, result_name = $6, result_size = $7, result_mime = $8,
         -- What ran and when, also when the best-effort "running" write never landed.
         image_digest = COALESCE($9, image_digest), node = COALESCE($10, node), started_at = COALESCE(started_at, $11::timestamptz),
         -- The key of what really ran (the worker's digest), and for a hit the worker found, whose result it serves.
         cache_key = COALESCE($12, cache_key), cached_from = COALESCE($13::uuid, cached_from)
       WHERE id = $1 AND status <> ALL($14::varchar[])
       RETURNING engine, created_at, started_at`,
      [
        ...[input.jobId, input.status, input.exitCode ?? null, textOrNull(input.error), textOrNull(input.logTail)],
        ...[input.result?.name ?? null, input.result?.size ?? null, input.result?.mime ?? null],
        ...[
          input.imageDigest ?? null,
          input.node ?? null,
          input.startedAt ?? null,
          input.cacheKey ?? null,
          input.cachedFrom ?? null,
          FINAL_STATUSES,
        ],
        new Date(),
      ],
    );
    const row = rows[0];
    return row ? { engine: row.engine, createdAt: row.created_at, startedAt: row.started_at } : null;
  }

  /**
   * The history, newest first, filtered by engine, status and sha256, and
   * searched by `q`: a part of the file name (case-insensitive) or, when `q`
   * is hex, a prefix of the sha256. Ties on createdAt go by id, so pages are
   * stable and every caller sees the same order.
   *
   * A page starts at a cursor (keyset: rows after the cursor's row, which
   * costs the same at any depth and does not shift when new jobs arrive) or
   * at `page` (an OFFSET, for the first pages). It ends one row short of what
   * was read, so whether there is a next page is known without counting.
   */
  async search(search: JobSearch): Promise<JobPage> {
    const cursor = search.cursor;
    const newer = cursor?.direction === 'newer';
    const rows = this.filtered(search).addSelect(CURSOR_AT, 'cursor_at');
    if (cursor) {
      rows.andWhere(`(job.created_at, job.id) ${newer ? '>' : '<'} (CAST(:cursorAt AS timestamptz), CAST(:cursorId AS uuid))`, {
        cursorAt: cursor.createdAt,
        cursorId: cursor.id,
      });
    } else {
      rows.offset((search.page - 1) * search.limit);
    }
    const order = newer ? 'ASC' : 'DESC';
    rows
      .orderBy('job.created_at', order)
      .addOrderBy('job.id', order)
      .limit(search.limit + 1);

    const [{ entities, raw }, total] = await Promise.all([rows.getRawAndEntities<{ cursor_at: string }>(), this.total(search)]);
    const more = entities.length > search.limit;
    const at = (i: number, direction: JobCursor['direction']) =>
      encodeJobCursor({ direction, createdAt: raw[i].cursor_at, id: entities[i].id });
    const n = Math.min(entities.length, search.limit);
    let next: string | null;
    let prev: string | null;
    let items = entities.slice(0, n);
    if (newer) {
      // Read upwards from the cursor; shown newest first like every page.
      items = items.reverse();
      prev = more ? at(n - 1, 'newer') : null;
      next = n > 0 ? at(0, 'older') : null;
    } else {
      next = more ? at(n - 1, 'older') : null;
      prev = n > 0 && (cursor || search.page > 1) ? at(0, 'newer') : null;
    }
    return {
      items,
      total: total.total,
      totalExact: total.exact,
      page: cursor ? null : search.page,
      limit: search.limit,
      pages: Math.ceil(total.total / search.limit),
      next,
      prev,
    };
  }

  /** The rows a search matches, in no order and without its page. */
  private filtered(search: JobSearch): SelectQueryBuilder<JobEntity> {
    const qb = this.repo.createQueryBuilder('job');
    if (search.engine) qb.andWhere('job.engine = :engine', { engine: search.engine });
    if (search.status) qb.andWhere('job.status = :status', { status: search.status });
    if (search.sha256) qb.andWhere('job.sha256 = :sha256', { sha256: search.sha256 });
    const q = search.q;
    if (q) {
      // Served by the trigram index (jobs_name_trgm_idx) and, for the prefix, by jobs_sha256_history_idx.
      const name = `%${escapeLike(q)}%`;
      if (/^[0-9a-f]{1,64}$/i.test(q)) {
        qb.andWhere(
          new Brackets((w) => {
            w.where('job.original_name ILIKE :name', { name }).orWhere('job.sha256 LIKE :prefix', { prefix: `${q.toLowerCase()}%` });
          }),
        );
      } else {
        qb.andWhere('job.original_name ILIKE :name', { name });
      }
    }
    return qb;
  }

  /** Exact up to EXACT_TOTAL_LIMIT, else the planner's estimate (see JobPage.total). */
  private async total(search: JobSearch): Promise<{ total: number; exact: boolean }> {
    const [sql, params] = this.filtered(search).select('1').getQueryAndParameters();
    const [{ n }] = await this.repo.query(`SELECT count(*)::int AS n FROM (${sql} LIMIT ${EXACT_TOTAL_LIMIT + 1}) capped`, params);
    if (n <= EXACT_TOTAL_LIMIT) return { total: n, exact: true };
    const [plan] = await this.repo.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    const estimate = Math.round(Number(plan['QUERY PLAN'][0].Plan['Plan Rows']));
    // At least what the capped count saw: the planner can underestimate.
    return { total: Math.max(estimate, EXACT_TOTAL_LIMIT + 1), exact: false };
  }

  async countByStatus(engine: string, statuses: JobStatus[]): Promise<number> {
    return this.repo.countBy({ engine, status: In(statuses) });
  }

  /**
   * Queued and running jobs by engine, in one query (jobs_status_history_idx):
   * engines without any are absent.
   */
  async countActive(): Promise<Map<string, { queued: number; running: number }>> {
    const rows = await this.repo
      .createQueryBuilder('job')
      .select('job.engine', 'engine')
      .addSelect('job.status', 'status')
      .addSelect('count(*)::int', 'n')
      .where('job.status IN (:...active)', { active: ['queued', 'running'] })
      .groupBy('job.engine')
      .addGroupBy('job.status')
      .getRawMany<{ engine: string; status: 'queued' | 'running'; n: number }>();
    const counts = new Map<string, { queued: number; running: number }>();
    for (const r of rows) {
      const c = counts.get(r.engine) ?? { queued: 0, running: 0 };
      c[r.status] = r.n;
      counts.set(r.engine, c);
    }
    return counts;
  }

  /** Final jobs that finished before `before` and still have their files. */
  async findExpirable(before: Date, limit: number): Promise<string[]> {
    const rows = await this.repo
      .createQueryBuilder('job')
      .select('job.id', 'id')
      .where('job.expired_at IS NULL AND job.finished_at < :before AND job.status IN (:...final)', { before, final: FINAL_STATUSES })
      .orderBy('job.finished_at', 'ASC')
      .limit(limit)
      .getRawMany<{ id: string }>();
    return rows.map((r) => r.id);
  }

  async markExpired(id: string): Promise<void> {
    await this.repo.update({ id }, { expiredAt: new Date() });
  }

  /** Statuses of the given jobs; ids without a row are absent from the map. */
  /** The status of each id that has a row; asked in chunks, well under PostgreSQL's limit of bound parameters. */
  async statuses(ids: string[]): Promise<Map<string, JobStatus>> {
    const found = new Map<string, JobStatus>();
    for (let i = 0; i < ids.length; i += STATUS_CHUNK) {
      const rows = await this.repo.find({ select: { id: true, status: true }, where: { id: In(ids.slice(i, i + STATUS_CHUNK)) } });
      for (const r of rows) found.set(r.id, r.status);
    }
    return found;
  }

  async ping(): Promise<void> {
    await this.repo.query('SELECT 1');
  }
}
