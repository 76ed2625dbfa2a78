import { writeEnginesFile } from '../support/engines-file';
import { body, getJob, uploadBytes, type Job } from '../support/http';
import { engineJobWorkflows } from '../support/temporal';
import { storedOf } from '../support/stored';
import { jobContainers, startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(900_000);

const UPLOADS = 200;
const CLIENTS = 20;

/** 200 uploads from 20 concurrent clients: none lost, none duplicated, every record agrees. */
describe('load', () => {
  let sys: System;

  beforeAll(async () => {
    // The fast engine's image and command, with room for the load.
    const enginesFile = writeEnginesFile([{ name: 'fast', image: '{{regserver}}/filemeta:stable', cmd: ['/engine/run.sh'], workers: 4 }]);
    sys = await startSystem({ enginesFile });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('completes every one of 200 uploads exactly once', async () => {
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < UPLOADS) {
          const n = next++;
          const res = await uploadBytes(sys.baseUrl, 'fast', `load sample number ${n} with a printable string`, `load-${n}.txt`);
          expect(res.status).toBe(201);
          ids.push((await body<Job>(res)).jobid);
        }
      }),
    );
    expect(new Set(ids).size).toBe(UPLOADS);

    const deadline = Date.now() + 600_000;
    for (;;) {
      const [{ n }] = await sys.db.query(`SELECT count(*)::int AS n FROM jobs WHERE status IN ('queued', 'running')`);
      if (n === 0) break;
      if (Date.now() > deadline) throw new Error(`${n} jobs still unfinished`);
      await new Promise((r) => setTimeout(r, 1000));
    }

    const rows: Array<{ status: string; n: number }> = await sys.db.query('SELECT status, count(*)::int AS n FROM jobs GROUP BY status');
    expect(rows).toEqual([{ status: 'completed', n: UPLOADS }]);

    // runJob records a completed job itself, a workflow task before its workflow completes: wait for those tasks.
    const listed = await until(
      'every workflow completed',
      async () => {
        const all = await engineJobWorkflows(sys.env.client);
        return all.length === UPLOADS && all.every((wf) => wf.status.name === 'COMPLETED') ? all : null;
      },
      60_000,
      500,
    ).catch(async () => engineJobWorkflows(sys.env.client));
    const workflows = new Set<string>();
    for (const wf of listed) {
      expect(wf.status.name).toBe('COMPLETED');
      workflows.add(wf.workflowId);
    }
    expect(workflows).toEqual(new Set(ids.map((id) => `job-${id}`)));

    const view = storedOf(sys.config);
    const stored = [];
    for (const id of await view.ids()) if ((await view.names(id)).includes('result')) stored.push(id);
    expect(new Set(stored)).toEqual(new Set(ids));

    // Spot-check that each result is its own input's.
    for (const id of ids.slice(0, 10)) {
      const job = await getJob(sys.baseUrl, id);
      const result = await body(await fetch(job.resultUrl!));
      expect(result.sha256).toBe(job.input.sha256);
    }
    expect(await jobContainers(sys.docker, ids)).toEqual([]);
  });
});
