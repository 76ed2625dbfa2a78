import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { EXACT_TOTAL_LIMIT } from '@menagerie/core';
import { JobHistoryRepository, type JobPage, type JobRepository } from '@menagerie/db';
import { decodeJobCursor, workflowIdFor, type JobSearch } from '@menagerie/core';
import { prepared } from '../../libs/db/src/prepared';
import { useJobsDatabase } from '../support/database';
import { insertRows, ordered, rowsOf, walkPages, type Row } from '../support/history-rows';

/** JobRepository on a real PostgreSQL database, cloned from the migrated template. */
describe('JobRepository', () => {
  const db = useJobsDatabase(2);
  let ds: DataSource;
  let jobs: JobRepository;
  beforeAll(() => ({ ds, jobs } = db));
  const queued = () => db.queued();

  it('prepares a statement again when a migration changed the shape of what it reads, on every pooled connection', async () => {
    await ds.query(`CREATE TABLE prepared_probe (id int)`);
    try {
      await ds.query(`INSERT INTO prepared_probe VALUES (1)`);
      const read = () => Promise.all([0, 1, 2, 3].map(() => prepared<{ id: number }>(ds.manager, `SELECT * FROM prepared_probe`, [])));
      // Prepared on both of the pool's connections.
      expect((await read()).map((r) => r.rows)).toEqual(Array(4).fill([{ id: 1 }]));
      await ds.query(`ALTER TABLE prepared_probe ADD COLUMN added int`);
      // PostgreSQL refuses the old plans (0A000): each is prepared again, and no caller sees it.
      expect((await read()).map((r) => r.rows)).toEqual(Array(4).fill([{ id: 1, added: null }]));
    } finally {
      await ds.query(`DROP TABLE prepared_probe`);
    }
  });

  it('keeps the first final status: completed, then failed, stays completed with its result and finish time', async () => {
    const id = await queued();
    await jobs.recordFinalStatus({
      jobId: id,
      status: 'completed',
      exitCode: 0,
      logTail: 'ok',
      result: { name: 'a.filemeta.json', size: 2, mime: 'application/json' },
    });
    const first = (await jobs.findById(id))!;

    await jobs.recordFinalStatus({ jobId: id, status: 'failed', exitCode: 3, error: 'replayed after a crash', logTail: 'late' });
    const after = (await jobs.findById(id))!;
    expect(after).toMatchObject({
      status: 'completed',
      exitCode: 0,
      error: null,
      logTail: 'ok',
      resultName: 'a.filemeta.json',
      resultSize: 2,
    });
    expect(after.finishedAt).toEqual(first.finishedAt);
  });

  it('records the digest and start time with the final status when "running" was never written', async () => {
    const id = await queued();
    await jobs.recordFinalStatus({
      jobId: id,
      status: 'completed',
      exitCode: 0,
      imageDigest: 'sha256:' + 'b'.repeat(64),
      startedAt: '2026-12-01T10:00:00.000Z',
    });
    expect(await jobs.findById(id)).toMatchObject({
      status: 'completed',
      imageDigest: 'sha256:' + 'b'.repeat(64),
      startedAt: new Date('2026-12-01T10:00:00.000Z'),
    });
  });

  it('keeps the start time "running" recorded, and what it knew when the final write knows nothing', async () => {
    const id = await queued();
    await jobs.markRunning(id, 'menagerie/filemeta:stable', 'sha256:' + 'c'.repeat(64));
    const running = (await jobs.findById(id))!;
    await jobs.recordFinalStatus({ jobId: id, status: 'cancelled', error: 'cancelled by request' });
    const after = (await jobs.findById(id))!;
    expect(after).toMatchObject({ status: 'cancelled', imageDigest: 'sha256:' + 'c'.repeat(64) });
    expect(after.startedAt).toEqual(running.startedAt);
  });

  it("reads a job, through its prepared statements, exactly as TypeORM's own read hydrates it: every column, types and transformers", async () => {
    const id = await queued();
    const key = 'd'.repeat(64);
    await jobs.markRunning(id, 'menagerie/filemeta:stable', 'sha256:' + 'e'.repeat(64), 'node-x');
    await jobs.recordFinalStatus({
      jobId: id,
      status: 'completed',
      exitCode: 0,
      logTail: 'tail',
      cacheKey: key,
      result: {
        name: 'r.filemeta.json',
        size: 5_000_000_000,
        mime: 'application/json',
        report: { summary: 'one line', verdict: 'clean', reason: 'nothing found', tagCounts: { 'hash.sha256': 1 } },
      },
    });
    // The columns no write of a job's run sets, so that only those a servable hit must leave null are null.
    await ds.query(
      `UPDATE jobs SET input_mime = 'text/plain', forced = true, retried_as = $2, input_from = $2, retry_of = $2, error = 'e', run_id = 'run-1',
         data = '{"rules": null}' WHERE id = $1`,
      [id, randomUUID()],
    );
    const typeorm = await ds.getRepository('JobEntity').findOneByOrFail({ id });
    const read = await jobs.findById(id);
    expect(
      Object.keys(typeorm)
        .filter((k) => typeorm[k] === null)
        .sort(),
    ).toEqual(['cachedFrom', 'expiredAt', 'submissionId']);
    expect(read).toEqual(typeorm);
    expect(read!.constructor).toBe(typeorm.constructor);
    expect(read!.resultSize).toBe(5_000_000_000);
    expect(read!.data).toEqual({ rules: null });
    expect(read!.report).toEqual({ summary: 'one line', verdict: 'clean', reason: 'nothing found', tagCounts: { 'hash.sha256': 1 } });
    expect(read!.startedAt).toBeInstanceOf(Date);
    // The cache lookup reads the same way, and only what it may serve.
    expect(await jobs.findCached(key, new Date(Date.now() - 60_000))).toEqual(typeorm);
    expect(await jobs.findCached(key, new Date(Date.now() + 60_000))).toBeNull();
    expect(await jobs.findById(randomUUID())).toBeNull();
  });

  it('runs its prepared statements inside the transaction it is given: rolled back, nothing was written', async () => {
    const id = randomUUID();
    const row = {
      id,
      engine: 'filemeta',
      originalName: 'tx.bin',
      size: 1,
      sha256: 'f'.repeat(64),
      image: 'menagerie/filemeta:stable',
      workflowId: workflowIdFor(id),
    };
    await expect(
      ds.transaction(async (tx) => {
        const { insertJob } = await import('@menagerie/db');
        await insertJob(tx, row);
        // Seen inside the transaction...
        expect(await tx.query(`SELECT id FROM jobs WHERE id = $1`, [id])).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // ...and gone with it.
    expect(await jobs.findById(id)).toBeNull();
  });
});

/**
 * The history's pages on a real PostgreSQL: keyset cursors, the first pages
 * by number, totals exact or estimated, and the searches the indexes serve.
 */
describe('JobHistoryRepository.search', () => {
  const db = useJobsDatabase(4);
  let ds: DataSource;
  let jobs: JobRepository;
  let history: JobHistoryRepository;
  beforeAll(() => {
    ({ ds, jobs } = db);
    history = new JobHistoryRepository(ds);
  });

  const insert = (rows: Row[]) => insertRows(ds, rows);
  const walk = (search: Omit<JobSearch, 'page'>, direction: 'next' | 'prev' = 'next', from?: JobPage) =>
    walkPages(history, search, direction, from);

  it('walks every row exactly once, in order, by cursor, also with filters; and back again by prev', async () => {
    const rows = rowsOf('walk', 53);
    await insert(rows);
    const forward = await walk({ engine: 'walk', limit: 7 });
    expect(forward.ids).toEqual(ordered(rows));
    expect(forward.pages).toHaveLength(8);
    expect(forward.pages.map((p) => p.page)).toEqual([1, ...Array(7).fill(null)]);
    expect(forward.pages.at(-1)!.next).toBeNull();

    const failed = await walk({ engine: 'walk', status: 'failed', limit: 4 });
    expect(failed.ids).toEqual(ordered(rows.filter((r) => r.status === 'failed')));

    // From the last page back to the first, by prev: the same pages, in reverse.
    const back = await walk({ engine: 'walk', limit: 7 }, 'prev', forward.pages.at(-1));
    expect(back.pages.map((p) => p.items.map((j) => j.id))).toEqual(forward.pages.map((p) => p.items.map((j) => j.id)).reverse());
    expect(back.pages.at(-1)!.prev).toBeNull();
  });

  it('stays stable while new jobs arrive during the walk: none seen twice, none missed', async () => {
    const rows = rowsOf('moving', 30);
    await insert(rows);
    const first = await history.search({ engine: 'moving', page: 1, limit: 10 });
    // Newer jobs arrive, some in the very microsecond of the newest row.
    await insert([...rowsOf('moving', 12, '2030-01-01T00:00:00'), { ...rowsOf('moving', 1)[0], id: randomUUID(), at: rows.at(-1)!.at }]);
    const rest = await walk({ engine: 'moving', limit: 10 }, 'next', first);
    const seen = rest.ids.filter((id) => rows.some((r) => r.id === id));
    expect(seen).toEqual(ordered(rows));
    expect(new Set(rest.ids).size).toBe(rest.ids.length);
  });

  it('still serves pages by number, with the cursors to go on from them', async () => {
    const rows = rowsOf('numbered', 25);
    await insert(rows);
    const order = ordered(rows);
    const page2 = await history.search({ engine: 'numbered', page: 2, limit: 10 });
    expect(page2).toMatchObject({ page: 2, limit: 10, total: 25, totalExact: true, pages: 3 });
    expect(page2.items.map((j) => j.id)).toEqual(order.slice(10, 20));
    const page3 = await history.search({ engine: 'numbered', page: 1, limit: 10, cursor: decodeJobCursor(page2.next!) });
    expect(page3.items.map((j) => j.id)).toEqual(order.slice(20));
    expect(page3.next).toBeNull();
    const page1 = await history.search({ engine: 'numbered', page: 1, limit: 10, cursor: decodeJobCursor(page2.prev!) });
    expect(page1.items.map((j) => j.id)).toEqual(order.slice(0, 10));
    expect(page1.prev).toBeNull();
    expect((await history.search({ engine: 'numbered', page: 1, limit: 10 })).prev).toBeNull();
  });

  it(`counts totals exactly up to ${EXACT_TOTAL_LIMIT} and says when it gives the planner's estimate instead`, async () => {
    expect(await history.search({ engine: 'nothing-here', page: 1, limit: 5 })).toMatchObject({
      total: 0,
      totalExact: true,
      pages: 0,
      items: [],
      next: null,
      prev: null,
    });
    const many = EXACT_TOTAL_LIMIT + 500;
    await ds.query(
      `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id)
       SELECT id, 'bulk', 'completed', 'bulk-' || g, 1, repeat('b', 64), 'x', 'job-' || id FROM (SELECT g, gen_random_uuid() AS id FROM generate_series(1, ${many}) g) s`,
    );
    await ds.query('ANALYZE jobs');
    const exact = await history.search({ engine: 'bulk', q: 'bulk-12', page: 1, limit: 5 }); // bulk-12, bulk-120..129, bulk-1200..1299
    expect(exact).toMatchObject({ total: 111, totalExact: true, pages: 23 });
    const estimated = await history.search({ engine: 'bulk', page: 1, limit: 100 });
    expect(estimated.totalExact).toBe(false);
    expect(estimated.total).toBeGreaterThan(EXACT_TOTAL_LIMIT);
    // Just analysed, the estimate is close.
    expect(Math.abs(estimated.total - many)).toBeLessThan(many * 0.2);
    expect(estimated.pages).toBe(Math.ceil(estimated.total / 100));
  });

  it('finds by a part of the name in any case and by a sha256 prefix; LIKE wildcards match literally', async () => {
    const rows: Row[] = [
      { ...rowsOf('search', 1)[0], name: 'Quarterly REPORT 2024.pdf' },
      { ...rowsOf('search', 2)[1], name: 'holiday_photo.jpg' },
      { ...rowsOf('search', 3)[2], name: '100%_done.txt' },
      { ...rowsOf('search', 4)[3], name: 'cafe1234.bin' },
    ];
    await insert(rows);
    const found = async (q: string) =>
      (await history.search({ engine: 'search', q, page: 1, limit: 20 })).items.map((j) => j.originalName).sort();
    expect(await found('report')).toEqual(['Quarterly REPORT 2024.pdf']);
    expect(await found('rt 20')).toEqual(['Quarterly REPORT 2024.pdf']);
    expect(await found(rows[1].sha256.slice(0, 6))).toEqual(['holiday_photo.jpg']);
    expect(await found(rows[1].sha256.slice(0, 6).toUpperCase())).toEqual(['holiday_photo.jpg']);
    expect(await found(rows[1].sha256)).toEqual(['holiday_photo.jpg']);
    // Hex that is also a part of a name finds both ways.
    expect(await found('cafe1234')).toEqual(['cafe1234.bin']);
    expect(await found('0%_')).toEqual(['100%_done.txt']);
    expect(await found('y_p')).toEqual(['holiday_photo.jpg']);
    expect(await found('y%p')).toEqual([]);
    expect(await found('a_e')).toEqual([]);
    expect((await history.search({ sha256: rows[2].sha256, page: 1, limit: 20 })).items.map((j) => j.id)).toEqual([rows[2].id]);
  });

  it('counts queued and running jobs by engine in one query', async () => {
    await insert(
      rowsOf('busy', 6).map((r, i) => ({ ...r, status: (['queued', 'running', 'queued', 'completed', 'queued', 'failed'] as const)[i] })),
    );
    await insert(rowsOf('idle', 2).map((r) => ({ ...r, status: 'completed' })));
    const active = await history.countActive();
    expect(active.get('busy')).toEqual({ queued: 3, running: 1 });
    expect(active.has('idle')).toBe(false);
    expect(await jobs.countByStatus('busy', ['queued', 'running'])).toBe(4);
  });
});
