import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FAILURE_TYPES, type FinalizeJobInput } from '@menagerie/core';
import { ENGINE, failureOf, setup, writesResult } from '../support/run-job';

describe('storeResult (workflows from before version 4)', () => {
  it("stores the job directory's result, named after the job's row when the input carries no name", async () => {
    const t = await setup(writesResult('%PDF-1.7 ...'));
    await t.scratch.stage(t.jobId, ENGINE.inputfilename, ENGINE.user, Readable.from([Buffer.from('in')]));
    writeFileSync(join(t.scratch.dir(t.jobId), 'result'), '{"a": 1}');

    const stored = await new MockActivityEnvironment().run(t.activities.storeResult, { jobId: t.jobId, engine: ENGINE });

    expect(stored).toEqual({ name: 'from-the-row.filemeta.json', size: 8, mime: 'application/json' });
    expect(t.stored('result')).toBe('{"a": 1}');
  });

  it('describes the result an earlier attempt already stored when the job directory has none', async () => {
    const t = await setup(writesResult('x'));
    t.blobs.blobs.set(`${t.jobId}/result`, Buffer.from('{"stored": "earlier"}'));

    const stored = await new MockActivityEnvironment().run(t.activities.storeResult, t.input);

    expect(stored).toEqual({ name: 'sample.filemeta.json', size: 21, mime: 'application/json' });
    expect(t.stored('result')).toBe('{"stored": "earlier"}');
  });

  it('fails NoResult when neither the job directory nor the store has a result', async () => {
    const t = await setup(writesResult('x'));
    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.storeResult, t.input));
    expect(failure).toMatchObject({ type: FAILURE_TYPES.noResult, nonRetryable: true });
  });
});

describe('recordJobStatus', () => {
  it('records the final status', async () => {
    const t = await setup(writesResult('x'));
    const outcome: FinalizeJobInput = { jobId: t.jobId, status: 'completed', exitCode: 0, node: 'node-a' };
    await new MockActivityEnvironment().run(t.activities.recordJobStatus, outcome);
    expect(t.jobs.finalize.mock.calls).toEqual([[outcome]]);
  });

  it('records a status PostgreSQL refuses for its text without the engine output', async () => {
    const t = await setup(writesResult('x'));
    t.jobs.finalize.mockRejectedValueOnce(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }));
    const outcome: FinalizeJobInput = { jobId: t.jobId, status: 'failed', error: 'engine said \u0000', logTail: 'bad \u0000 bytes' };

    await new MockActivityEnvironment().run(t.activities.recordJobStatus, outcome);

    expect(t.jobs.finalize.mock.calls[1]).toEqual([{ ...outcome, logTail: null, error: 'engine said ?' }]);
  });

  it('fails, to be retried, while the database is down', async () => {
    const t = await setup(writesResult('x'));
    t.jobs.finalize.mockRejectedValue(new Error('connect ECONNREFUSED'));
    await expect(
      new MockActivityEnvironment().run(t.activities.recordJobStatus, { jobId: t.jobId, status: 'completed' } as FinalizeJobInput),
    ).rejects.toThrow('ECONNREFUSED');
  });
});
