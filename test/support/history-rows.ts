import { createHash, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { decodeJobCursor, workflowIdFor, type JobSearch, type JobStatus } from '@menagerie/core';
import type { JobHistoryRepository, JobPage } from '@menagerie/db';

/** Job rows written straight into the jobs table, and the history's pages walked over them (test/e2e/job-repository.spec.ts). */

export interface Row {
  id: string;
  engine: string;
  status: JobStatus;
  name: string;
  sha256: string;
  /** PostgreSQL timestamptz text, with microseconds. */
  at: string;
}

export async function insertRows(ds: DataSource, rows: Row[]): Promise<void> {
  for (const r of rows) {
    await ds.query(
      `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id, created_at)
       VALUES ($1, $2, $3, $4, 1, $5, 'x', $6, $7)`,
      [r.id, r.engine, r.status, r.name, r.sha256, workflowIdFor(r.id), r.at],
    );
  }
}

/** Rows of `engine`; several share a microsecond, several share a millisecond, so only the tie-break and the microseconds order them. */
export function rowsOf(engine: string, count: number, base = '2020-01-01T00:00:00'): Row[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    engine,
    status: (['completed', 'failed', 'queued'] as const)[i % 3],
    name: `${engine}-file-${i}.bin`,
    sha256: createHash('sha256').update(`${engine}-${i}`).digest('hex'),
    at: `${base}.${String(Math.floor(i / 3) * 7).padStart(6, '0')}Z`,
  }));
}

/** The history's order: newest first, ties by id, descending (uuid order is that of the hex text). */
export const ordered = (rows: Row[]) =>
  [...rows].sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1)).map((r) => r.id);

/** Every page of `search`, from its first page (or `from`) on by the pages' `direction` cursors, and the ids on them in order. */
export async function walkPages(
  history: JobHistoryRepository,
  search: Omit<JobSearch, 'page'>,
  direction: 'next' | 'prev' = 'next',
  from?: JobPage,
): Promise<{ ids: string[]; pages: JobPage[] }> {
  const pages: JobPage[] = [];
  let page = from ?? (await history.search({ ...search, page: 1 }));
  pages.push(page);
  for (let cursor = page[direction]; cursor; cursor = page[direction]) {
    page = await history.search({ ...search, page: 1, cursor: decodeJobCursor(cursor) });
    pages.push(page);
    expect(pages.length).toBeLessThan(1000);
  }
  return { ids: pages.flatMap((p) => p.items.map((j) => j.id)), pages };
}
