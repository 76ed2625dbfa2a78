import { randomUUID } from 'node:crypto';
import { FINAL_STATUSES, JOB_START_STATUSES, JOB_STATUSES, JOB_TRANSITIONS, type JobStatus } from '@menagerie/core';
import { JobFollowerRepository, JobOutboxRepository, type JobEntity } from '@menagerie/db';
import { useJobsDatabase } from '../support/database';

/** Every status write of the repositories, tried from every status on a real PostgreSQL: each moves only along JOB_TRANSITIONS. */
describe('job status writes obey JOB_TRANSITIONS', () => {
  const db = useJobsDatabase(4);
  const statusOf = async (id: string): Promise<JobStatus> => (await db.jobs.get(id)).status;

  /** A job in `status`, started (a run id) or not, following `leader` when given. */
  async function jobIn(status: JobStatus, started: boolean, leader: string | null = null): Promise<string> {
    const id = await db.queued();
    await db.ds.query(`UPDATE jobs SET status = $2, run_id = $3, cached_from = $4 WHERE id = $1`, [
      id,
      status,
      started ? 'run-1' : null,
      leader,
    ]);
    return id;
  }

  async function completedLeader(): Promise<JobEntity> {
    const id = await jobIn('completed', true);
    await db.ds.query(`UPDATE jobs SET result_name = 'a.filemeta.json', result_size = 2, result_mime = 'application/json' WHERE id = $1`, [
      id,
    ]);
    return db.jobs.get(id);
  }

  const writes: Array<[string, (id: string) => Promise<unknown>]> = [
    ['markRunning', (id) => db.jobs.markRunning(id, 'menagerie/filemeta:stable', null, 'node-a')],
    ...FINAL_STATUSES.map((status): [string, (id: string) => Promise<unknown>] => [
      `recordFinalStatus ${status}`,
      (id) => db.jobs.recordFinalStatus({ jobId: id, status: status as never, error: status === 'completed' ? null : 'x' }),
    ]),
    ['cancelUnstarted', (id) => new JobOutboxRepository(db.ds).cancelUnstarted(id)],
    ['failUnstarted', () => new JobOutboxRepository(db.ds).failUnstarted('filemeta', 'engine removed')],
  ];

  describe.each(JOB_STATUSES)('from %s', (from) => {
    it.each(writes.flatMap(([name, write]) => [true, false].map((started) => [name, started, write] as const)))(
      '%s (started: %s)',
      async (_name, started, write) => {
        const id = await jobIn(from, started);
        await write(id);
        const to = await statusOf(id);
        expect(to === from || JOB_TRANSITIONS[from].includes(to)).toBe(true);
      },
    );

    it('completeFollower', async () => {
      const leader = await completedLeader();
      const id = await jobIn(from, false, leader.id);
      await new JobFollowerRepository(db.ds).completeFollower(id, leader);
      const to = await statusOf(id);
      expect(to === from || JOB_TRANSITIONS[from].includes(to)).toBe(true);
    });
  });

  it('inserts rows only in a start status: queued, or completed for a cache hit', async () => {
    const queued = await statusOf(await db.queued());
    const leader = await completedLeader();
    const hitId = randomUUID();
    await db.jobs.create({
      id: hitId,
      engine: 'filemeta',
      originalName: 'b.bin',
      size: 1,
      sha256: 'a'.repeat(64),
      image: 'menagerie/filemeta:stable',
      workflowId: `job-${hitId}`,
      hit: leader,
    });
    expect([queued, await statusOf(hitId)]).toEqual(JOB_START_STATUSES);
  });
});
