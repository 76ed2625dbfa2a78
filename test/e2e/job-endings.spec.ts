import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { JobEndings, LEADER_ENDED_CHANNEL, WEBHOOK_EVENT_CHANNEL, type JobRepository } from '@menagerie/db';
import { useJobsDatabase } from '../support/database';
import { TcpRelay } from '../support/relay';
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
    await jobs.recordFinalStatus({ jobId: b, status: 'completed', exitCode: 0 });
    await Promise.all([waitB.done, alsoB.done]);
    // Announcements come in commit order: b's was heard, so a's running write (committed first) announced nothing.
    expect(await settled(waitA.done)).toBe(false);
    await jobs.recordFinalStatus({ jobId: a, status: 'failed', error: 'x' });
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
    await jobs.recordFinalStatus({ jobId: id, status: 'completed', exitCode: 0 });
    await next.done;
  });

  it('writes and announces a webhook event only when a target or a callback listens, and a leader only when followers wait', async () => {
    const heard: Record<string, string[]> = { webhook: [], leader: [] };
    const offWebhook = endings.subscribe((id) => id && heard.webhook.push(id), WEBHOOK_EVENT_CHANNEL);
    const offLeader = endings.subscribe((id) => id && heard.leader.push(id), LEADER_ENDED_CHANNEL);
    const events = async (id: string) =>
      (await ds.query(`SELECT count(*)::int AS n FROM webhook_events WHERE job_id = $1`, [id]))[0].n as number;
    const end = async (id: string) => {
      const ending = endings.ended(id, 60_000, never);
      await jobs.recordFinalStatus({ jobId: id, status: 'completed', exitCode: 0 });
      await ending.done;
    };
    try {
      await ds.query(`UPDATE webhook_settings SET targets = false`);
      const quiet = await queued();
      await end(quiet);
      const called = await queued();
      await ds.query(`INSERT INTO webhook_callbacks (owner_id, url) VALUES ($1, 'https://hooks.example/x')`, [called]);
      await end(called);
      // A job that an identical upload follows.
      const leader = await queued();
      await ds.query(`UPDATE jobs SET cache_key = $2 WHERE id = $1`, [leader, 'f'.repeat(64)]);
      await ds.query(
        `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id, cached_from)
         SELECT $2::uuid, engine, 'queued', original_name, size, sha256, image, 'job-' || $2::text, id FROM jobs WHERE id = $1`,
        [leader, randomUUID()],
      );
      await end(leader);
      await until('the announcements', async () => heard.webhook.includes(called) && heard.leader.includes(leader), 10_000, 20);
      expect([await events(quiet), await events(called)]).toEqual([0, 1]);
      expect(heard.webhook).not.toContain(quiet);
      expect(heard.leader).toEqual([leader]);

      await ds.query(`UPDATE webhook_settings SET targets = true`);
      const withTargets = await queued();
      await end(withTargets);
      expect(await events(withTargets)).toBe(1);
    } finally {
      offWebhook();
      offLeader();
    }
  });

  it('finds a listening connection that went silent without closing within 30 s, wakes its waiters, and listens again', async () => {
    const relay = await new TcpRelay(db.options).start();
    const heard: string[] = [];
    const relayed = new JobEndings({ ...db.options, host: '127.0.0.1', port: relay.port }, (message) => heard.push(message));
    try {
      await relayed.start();
      expect(relayed.listening).toBe(true);
      const id = await queued();
      const waiter = relayed.ended(id, 120_000, never);
      // The path between the API and PostgreSQL goes silent: no FIN, no RST, no error.
      const cutAt = Date.now();
      relay.cut();
      await jobs.recordFinalStatus({ jobId: id, status: 'completed', exitCode: 0 });
      // The announcement is lost with the path; the heartbeat finds it dead and the waiter reads its row again.
      await waiter.done;
      expect(Date.now() - cutAt).toBeLessThan(30_000);
      expect(heard.some((m) => /no answer to a heartbeat/.test(m))).toBe(true);
      // A new connection (the relay forwards new ones) listens again and hears the next end.
      await until('listening again', async () => relayed.listening, 30_000);
      const next = await queued();
      const again = relayed.ended(next, 60_000, never);
      const endedAt = Date.now();
      await jobs.recordFinalStatus({ jobId: next, status: 'failed', error: 'x' });
      await again.done;
      expect(Date.now() - endedAt).toBeLessThan(5_000);
    } finally {
      await relayed.stop();
      await relay.close();
    }
  }, 120_000);
});
