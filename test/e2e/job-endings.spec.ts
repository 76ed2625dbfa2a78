import type { DataSource } from 'typeorm';
import { JobEndings, type JobRepository } from '@menagerie/db';
import { useJobsDatabase } from '../support/database';
import { until } from '../support/until';

/** JobEndings on a real PostgreSQL database: the jobs table announces final statuses, whoever writes them. */
describe('JobEndings', () => {
  const db = useJobsDatabase(2);
  let ds: DataSource;
  let jobs: JobRepository;
  let endings: JobEndings;
  const problems: string[] = [];
  const never = new AbortController().signal;
  const queued = () => db.queued();

  beforeAll(async () => {
    ({ ds, jobs } = db);
    endings = new JobEndings(db.options, (message) => problems.push(message));
    await endings.start();
  });
  afterAll(async () => {
    await endings?.stop();
  });

  /** Whether `done` has settled by the time the event loop has run everything already due. */
  async function settled(done: Promise<void>): Promise<boolean> {
    let yes = false;
    void done.then(() => (yes = true));
    await new Promise((r) => setImmediate(r));
    return yes;
  }

  it('wakes the waiters of a job when its final status is committed, and only then', async () => {
    expect(endings.listening).toBe(true);
    const [a, b] = [await queued(), await queued()];
    const waitA = endings.ended(a, 60_000, never);
    const waitB = endings.ended(b, 60_000, never);
    const alsoB = endings.ended(b, 60_000, never);
    expect(endings.waiting).toBe(3);
    await jobs.markRunning(a, 'img', null, 'node-a'); // not final: no announcement
    await jobs.finalize({ jobId: b, status: 'completed', exitCode: 0 });
    await Promise.all([waitB.done, alsoB.done]);
    // Announcements come in commit order: b's was heard, so a's running write (committed first) announced nothing.
    expect(await settled(waitA.done)).toBe(false);
    await jobs.finalize({ jobId: a, status: 'failed', error: 'x' });
    await waitA.done;
    expect(endings.waiting).toBe(0);
  });

  it('stops waiting at its time, on its signal, or when cancelled', async () => {
    const id = await queued();
    await endings.ended(id, 10, never).done;
    const stop = new AbortController();
    const aborted = endings.ended(id, 60_000, stop.signal);
    stop.abort();
    await aborted.done;
    const cancelled = endings.ended(id, 60_000, never);
    cancelled.cancel();
    await cancelled.done;
    expect(endings.waiting).toBe(0);
  });

  it('wakes every waiter when its connection breaks, says so, listens again, and hears the next end', async () => {
    const id = await queued();
    const waiting = endings.ended(id, 60_000, never);
    await ds.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
    );
    await waiting.done; // woken to read its row again: an end may have gone unheard meanwhile
    expect(problems.some((p) => /not listening for jobs' ends/.test(p))).toBe(true);
    await until('listening again', async () => endings.listening, 30_000, 50);
    const next = endings.ended(id, 60_000, never);
    await jobs.finalize({ jobId: id, status: 'completed', exitCode: 0 });
    await next.done;
  });
});
