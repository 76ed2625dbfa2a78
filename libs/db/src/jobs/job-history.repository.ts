import { Brackets, type DataSource, type Repository, type SelectQueryBuilder } from 'typeorm';
import { encodeJobCursor, EXACT_TOTAL_LIMIT, pageTotal, type JobCursor, type JobSearch } from '@menagerie/core';
import { JobEntity } from '../job.entity';
import { taggedCondition } from './job-tags.repository';

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

/** The cursor's createdAt in microseconds, which a JS Date would round away. */
const CURSOR_AT = `to_char(job.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `%`, `_` and `\\` match literally. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The history: searching and paging through jobs, and the counts the API shows. */
export class JobHistoryRepository {
  private readonly repo: Repository<JobEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
  }

  /**
   * The history, newest first, filtered by engine, status, sha256 and a
   * report's tag, and
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
    if (search.tag) qb.andWhere(taggedCondition('job'), { tagType: search.tag.type, tagValue: search.tag.value });
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

  /** A count that stops one row past EXACT_TOTAL_LIMIT, and the planner's estimate past it (pageTotal). */
  private async total(search: JobSearch): Promise<{ total: number; exact: boolean }> {
    const [sql, params] = this.filtered(search).select('1').getQueryAndParameters();
    const [{ n }] = await this.repo.query(`SELECT count(*)::int AS n FROM (${sql} LIMIT ${EXACT_TOTAL_LIMIT + 1}) capped`, params);
    return pageTotal(n, async () => {
      const [plan] = await this.repo.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      return Number(plan['QUERY PLAN'][0].Plan['Plan Rows']);
    });
  }

  /** A submission's jobs, in the order their engines were asked. */
  async bySubmission(submissionId: string): Promise<JobEntity[]> {
    return this.repo.find({ where: { submissionId }, order: { createdAt: 'ASC', id: 'ASC' } });
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
}
