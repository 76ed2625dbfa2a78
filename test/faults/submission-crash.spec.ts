import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { SubmissionView } from '../../apps/api/src/submissions/submission.view';
import { writeEnginesFile } from '../support/engines-file';
import { body } from '../support/http';
import { apiOnFreePort, startApiProcess, type Managed } from '../support/processes';
import { engineJobWorkflows } from '../support/temporal';
import { until } from '../support/until';
import { startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/**
 * The API is its own process (apps/api/dist), killed with SIGKILL in the
 * middle of a submission and right after one: a submission is whole or
 * absent, never a part of its jobs.
 */
describe('API killed mid-submission', () => {
  let sys: System;
  let api: Managed;
  let base: string;
  let port: number;
  const engines = ['copy-a', 'copy-b', 'copy-c'];

  beforeAll(async () => {
    const enginesFile = writeEnginesFile(engines.map((name) => ({ name, cmd: ['sh', '-c', 'cp /var/data/input /var/data/result'] })));
    sys = await startSystem({ enginesFile, api: false });
    ({ api, port, base } = await apiOnFreePort(sys.config));
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    await sys?.stop();
  });

  function submit(bytes: Buffer): Promise<Response> {
    const form = new FormData();
    form.append('upload', new Blob([bytes]), 'crash.bin');
    return fetch(`${base}/submit?engines=${engines.join(',')}`, { method: 'POST', body: form });
  }

  const rows = async () => {
    const [row] = await sys.db.query(
      `SELECT (SELECT count(*)::int FROM submissions) AS submissions, (SELECT count(*)::int FROM jobs) AS jobs`,
    );
    return row as { submissions: number; jobs: number };
  };

  it('killed inside the transaction, after the submission row and before its jobs: no submission and no job is left', async () => {
    // Holds the jobs table so that the API's transaction stops at its first job row, the submission row already written.
    const locker = new Client(sys.config.settings.database);
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE jobs IN EXCLUSIVE MODE');
      const answer = submit(randomBytes(5000)).catch((err: unknown) => err);
      const blocked = await until('the API to wait on the jobs table inside its submission transaction', async () => {
        // Asked on a connection of its own: inside the locker's transaction, pg_stat_activity stays as it first read it.
        const found: Array<{ pid: number }> = await sys.db.query(
          `SELECT a.pid FROM pg_stat_activity a
           WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND a.query LIKE 'INSERT INTO jobs%'
             AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation = 'submissions'::regclass AND l.mode = 'RowExclusiveLock')`,
        );
        return found[0];
      });

      await api.stop('SIGKILL');
      expect(await answer).toMatchObject({ message: 'fetch failed' }); // the connection went, with no answer
      await locker.query('COMMIT');
      // Its backend rolls the transaction back once it finds its client gone.
      await until('the killed API’s transaction to end', async () => {
        const left: unknown[] = await sys.db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [blocked.pid]);
        return left.length === 0;
      });
    } finally {
      await locker.end();
    }
    expect(await rows()).toEqual({ submissions: 0, jobs: 0 });
    expect(await engineJobWorkflows(sys.env.client)).toEqual([]);
    await startApiProcess(api, port);
  });

  it('killed right after answering 201: restarted, it runs every job of the submission', async () => {
    const input = randomBytes(5000);
    const res = await submit(input);
    await api.stop('SIGKILL');
    expect(res.status).toBe(201);
    const queued = await body<SubmissionView>(res);
    expect(queued.jobs.map((j) => j.engine)).toEqual(engines);

    await startApiProcess(api, port);
    const done = await until('the submission to end', async () => {
      const view = await body<SubmissionView>(await fetch(`${base}/submission/${queued.submissionId}?wait=60`));
      return view.status !== 'running' && view;
    });
    expect(done.status).toBe('completed');
    expect(done.jobs.map((j) => [j.engine, j.status])).toEqual(engines.map((e) => [e, 'completed']));
    for (const job of done.jobs)
      expect(Buffer.from(await (await fetch(`${base}/link/${job.jobid}`)).arrayBuffer()).equals(input)).toBe(true);
    expect(await rows()).toEqual({ submissions: 1, jobs: engines.length });
    // One workflow per job, none twice.
    const workflows = (await engineJobWorkflows(sys.env.client)).map((wf) => wf.workflowId).sort();
    expect(workflows).toEqual(done.jobs.map((j) => `job-${j.jobid}`).sort());
  });
});
