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
/** Deeper pages are refused: an OFFSET reads and throws away every row before it. */
export const MAX_PAGE = 100_000;
export const MAX_SEARCH_LENGTH = 255;

/** A validated search of the job history; `q` matches a part of the file name or a sha256 prefix. */
export interface JobSearch {
  q?: string;
  engine?: string;
  status?: JobStatus;
  sha256?: string;
  page: number;
  limit: number;
}

export type JobSearchField = 'q' | 'engine' | 'status' | 'sha256';

const invalid = (message: string) => new MenagerieError('INVALID_QUERY', message);

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

/**
 * Parses a search from a request's query, taking only `fields` (and `page`,
 * `limit`); anything else in the query is ignored. Throws INVALID_QUERY
 * naming the parameter and what it must be.
 */
export function parseJobSearch(query: Record<string, unknown>, fields: readonly JobSearchField[]): JobSearch {
  const search: JobSearch = {
    page: wholeNumber(single(query, 'page'), 'page', 1, MAX_PAGE),
    limit: wholeNumber(single(query, 'limit'), 'limit', DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT),
  };
  for (const field of fields) {
    const value = single(query, field);
    if (value === undefined) continue;
    if (value.length > MAX_SEARCH_LENGTH) throw invalid(`${field} must be at most ${MAX_SEARCH_LENGTH} characters`);
    switch (field) {
      case 'q': {
        const q = value.trim();
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
    }
  }
  return search;
}
