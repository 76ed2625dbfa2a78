import { ApiClient } from '../../../apps/cli/src/client';
import { untilJobEnds, untilSubmissionEnds } from '../../../apps/cli/src/wait';
import { job, json, stubFetch, submission } from './fixtures';

describe('waiting for the end', () => {
  it('long-polls /result until the job has ended, reporting each status once', async () => {
    const answers = [job({ status: 'queued' }), job({ status: 'running' }), job({ status: 'running' }), job({ status: 'completed' })];
    const stub = stubFetch(() => json(200, answers.shift()));
    const seen: string[] = [];
    const final = await untilJobEnds(new ApiClient({ url: 'http://api', apiKey: null }, stub.fn), job({ status: 'queued' }), 60, (j) =>
      seen.push(j.status),
    );
    expect(final.status).toBe('completed');
    expect(seen).toEqual(['queued', 'running', 'completed']);
    expect(stub.calls.every((c) => c.url.searchParams.get('wait') === '60')).toBe(true);
    expect(stub.calls).toHaveLength(4);
  });

  it('asks nothing for a job that has already ended (a cache hit)', async () => {
    const stub = stubFetch(() => json(500, {}));
    const hit = job({ status: 'completed', cached: true });
    expect(await untilJobEnds(new ApiClient({ url: 'http://api', apiKey: null }, stub.fn), hit, 60)).toBe(hit);
    expect(stub.calls).toHaveLength(0);
  });

  it('rides out a replica that is briefly unavailable', async () => {
    const answers = [json(503, { error: 'DATABASE_UNAVAILABLE', message: 'down' }), json(200, job({ status: 'completed' }))];
    const stub = stubFetch(() => answers.shift()!);
    expect((await untilJobEnds(new ApiClient({ url: 'http://api', apiKey: null }, stub.fn), job(), 60)).status).toBe('completed');
  });

  it('stops on an error that waiting will not cure', async () => {
    const stub = stubFetch(() => json(404, { error: 'JOB_NOT_FOUND', message: 'gone' }));
    await expect(untilJobEnds(new ApiClient({ url: 'http://api', apiKey: null }, stub.fn), job(), 60)).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
    expect(stub.calls).toHaveLength(1);
  });

  it('long-polls /submission until no job is live, reporting each job as it changes', async () => {
    const a = (status: string) => job({ jobid: 'a', engine: 'apktool', status });
    const b = (status: string) => job({ jobid: 'b', engine: 'filemeta', status });
    const answers = [
      submission([a('running'), b('completed')]),
      submission([a('failed'), b('completed')], { status: 'completed_with_failures' }),
    ];
    const stub = stubFetch(() => json(200, answers.shift()));
    const seen: string[] = [];
    const final = await untilSubmissionEnds(
      new ApiClient({ url: 'http://api', apiKey: null }, stub.fn),
      submission([a('queued'), b('queued')]),
      10,
      (j) => seen.push(`${j.jobid}:${j.status}`),
    );
    expect(final.status).toBe('completed_with_failures');
    expect(seen).toEqual(['a:queued', 'b:queued', 'a:running', 'b:completed', 'a:failed']);
    expect(stub.calls.map((c) => c.url.searchParams.get('wait'))).toEqual(['10', '10']);
  });
});
