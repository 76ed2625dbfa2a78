import { MenagerieError } from './errors';
import { isJobId, JOB_STATUSES, type JobStatus } from './job';

/**
 * What a request may ask about jobs, checked in one place: the API's /jobs
 * and the console's search take the same parameters the same way.
 */

/** A request's job id, in its one canonical spelling; INVALID_JOB_ID unless it is a UUID. */
export function canonicalJobId(value: unknown): string {
  const id = typeof value === 'string' ? value.toLowerCase() : '';
  if (!isJobId(id)) throw new MenagerieError('INVALID_JOB_ID', 'a job id is a UUID such as 3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90');
  return id;
}

export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;
/**
 * `page` serves the first pages only: an OFFSET reads and throws away every
 * row before it, so page 100 of 100 rows already walks 9,900. Deeper reads
 * follow the answer's `next` cursor, which costs the same at any depth.
 */
export const MAX_PAGE = 100;
/** And a numbered page starts at most this many rows in (page 100 of 20, page 21 of 100). */
export const MAX_OFFSET = 2_000;
export const MAX_SEARCH_LENGTH = 255;
/**
 * A name search matches any part of the name through trigrams (pg_trgm):
 * a shorter part has no trigram to look up and would scan the whole history.
 */
export const MIN_SEARCH_LENGTH = 3;

/**
 * Where a keyset page starts: strictly after (`older`) or before (`newer`)
 * the row with this createdAt and id, in the history's order (newest first,
 * ties by id). createdAt keeps PostgreSQL's microseconds, which a JS Date
 * would round away.
 */
export interface JobCursor {
  direction: 'older' | 'newer';
  /** ISO 8601 in UTC with microseconds: 2026-01-02T03:04:05.123456Z. */
  createdAt: string;
  id: string;
}

/** A validated search of the job history; `q` matches a part of the file name or a sha256 prefix. */
export interface JobSearch {
  q?: string;
  engine?: string;
  status?: JobStatus;
  sha256?: string;
  /** A tag of the job's report (`tag=<type>:<value>`, such as `yara.rule:Foo`). */
  tag?: { type: string; value: string };
  /** From 1; only read when there is no cursor. */
  page: number;
  limit: number;
  cursor?: JobCursor;
}

export type JobSearchField = 'q' | 'engine' | 'status' | 'sha256' | 'tag';

/** A report tag's type (menagerie.report/1): `<family>.<name>` in lower case. */
export const TAG_TYPE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
/** The longest value of a tag. */
export const MAX_TAG_VALUE = 1024;

const invalid = (message: string) => new MenagerieError('INVALID_QUERY', message);

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DIRECTIONS = { o: 'older', n: 'newer' } as const;

/** A real instant, spelled as encodeJobCursor spells it (JS would read 2026-02-30 as March 2nd; PostgreSQL refuses it). */
function isCursorTime(value: string | undefined): value is string {
  if (value === undefined || !CURSOR_TIME.test(value)) return false;
  const ms = Date.parse(value);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 23) === value.slice(0, 23);
}

/** The opaque `cursor` a client passes back: base64url of `o|<createdAt>|<id>`. */
export function encodeJobCursor(cursor: JobCursor): string {
  return Buffer.from(`${cursor.direction === 'older' ? 'o' : 'n'}|${cursor.createdAt}|${cursor.id}`).toString('base64url');
}

/** Reads a `cursor` this API made; INVALID_QUERY for anything else. */
export function decodeJobCursor(value: string): JobCursor {
  const parts = /^[A-Za-z0-9_-]{1,200}$/.test(value) ? Buffer.from(value, 'base64url').toString('utf8').split('|') : [];
  const [direction, createdAt, id] = parts;
  if (parts.length !== 3 || !(direction in DIRECTIONS) || !isCursorTime(createdAt) || !isJobId(id)) {
    throw invalid(
      'cursor is not one this API gave: pass the `next` or `prev` of an answer from GET /jobs unchanged, or leave it out for the newest jobs',
    );
  }
  return { direction: DIRECTIONS[direction as keyof typeof DIRECTIONS], createdAt, id };
}

/** One value of a query parameter; an empty one counts as absent. */
function single(query: Record<string, unknown>, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`give ${key} once, as a plain value`);
  return value === '' ? undefined : value;
}

function wholeNumber(value: string | undefined, key: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  // Digits only: Number() would take "1e3", " 2" and numbers past 2^53.
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= max)) throw invalid(`${key} must be a whole number from 1 to ${max}`);
  return n;
}

function pageNumber(value: string | undefined): number {
  if (value !== undefined && /^\d{1,9}$/.test(value) && Number(value) > MAX_PAGE) {
    throw invalid(
      `page goes up to ${MAX_PAGE}; to read further, follow the \`next\` cursor of the previous answer (GET /jobs?cursor=<next>), which costs the same at any depth`,
    );
  }
  return wholeNumber(value, 'page', 1, MAX_PAGE);
}

/**
 * Parses a search from a request's query, taking only `fields` (and `page`,
 * `limit`, `cursor`); anything else in the query is ignored. Throws
 * INVALID_QUERY naming the parameter and what it must be.
 */
export function parseJobSearch(query: Record<string, unknown>, fields: readonly JobSearchField[]): JobSearch {
  const page = single(query, 'page');
  const cursor = single(query, 'cursor');
  if (page !== undefined && cursor !== undefined)
    throw invalid('give page or cursor, not both: a cursor already says where the page starts');
  const search: JobSearch = {
    page: pageNumber(page),
    limit: wholeNumber(single(query, 'limit'), 'limit', DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT),
  };
  if ((search.page - 1) * search.limit > MAX_OFFSET) {
    throw invalid(
      `page ${search.page} of ${search.limit} starts past row ${MAX_OFFSET}, as deep as numbered pages go; to read further, follow the \`next\` cursor of the previous answer (GET /jobs?cursor=<next>)`,
    );
  }
  if (cursor !== undefined) search.cursor = decodeJobCursor(cursor);
  for (const field of fields) {
    const value = single(query, field);
    if (value === undefined) continue;
    if (value.length > (field === 'tag' ? MAX_TAG_VALUE + 65 : MAX_SEARCH_LENGTH))
      throw invalid(`${field} must be at most ${field === 'tag' ? MAX_TAG_VALUE + 65 : MAX_SEARCH_LENGTH} characters`);
    switch (field) {
      case 'q': {
        const q = value.trim();
        if (q && q.length < MIN_SEARCH_LENGTH) {
          throw invalid(`q must be at least ${MIN_SEARCH_LENGTH} characters: a part of the file name, or the start of a sha256`);
        }
        if (q) search.q = q;
        break;
      }
      case 'engine':
        search.engine = value;
        break;
      case 'status':
        if (!JOB_STATUSES.includes(value as JobStatus)) throw invalid(`status must be one of ${JOB_STATUSES.join(', ')}`);
        search.status = value as JobStatus;
        break;
      case 'sha256':
        if (!/^[0-9a-f]{64}$/i.test(value)) throw invalid('sha256 must be 64 hex digits');
        search.sha256 = value.toLowerCase();
        break;
      case 'tag': {
        const colon = value.indexOf(':');
        const type = value.slice(0, colon);
        if (colon < 0 || !TAG_TYPE.test(type) || type.length > 64 || colon === value.length - 1)
          throw invalid(
            'tag must be <type>:<value>, such as yara.rule:Suspicious_Macro or ioc.domain:example.com (the type in lower case, as reports give it)',
          );
        search.tag = { type, value: value.slice(colon + 1) };
        break;
      }
    }
  }
  return search;
}
