import { MockActivityEnvironment } from '@temporalio/testing';
import type { FinalStatusRecord } from '@menagerie/core';
import { setup, writesResult } from '../support/run-job';

describe('recordJobStatus', () => {
  it('records the final status', async () => {
    const t = await setup(writesResult('x'));
    const outcome: FinalStatusRecord = { jobId: t.jobId, status: 'completed', exitCode: 0, node: 'node-a' };
    await new MockActivityEnvironment().run(t.activities.recordJobStatus, outcome);
    expect(t.jobs.recordFinalStatus.mock.calls).toEqual([[outcome]]);
  });

  it('records a status PostgreSQL refuses for its text without the engine output', async () => {
    const t = await setup(writesResult('x'));
    t.jobs.recordFinalStatus.mockRejectedValueOnce(
      Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
    );
    const outcome: FinalStatusRecord = { jobId: t.jobId, status: 'failed', error: 'engine said \u0000', logTail: 'bad \u0000 bytes' };

    await new MockActivityEnvironment().run(t.activities.recordJobStatus, outcome);

    expect(t.jobs.recordFinalStatus.mock.calls[1]).toEqual([{ ...outcome, logTail: null, error: 'engine said ?' }]);
  });

  it('fails, to be retried, while the database is down', async () => {
    const t = await setup(writesResult('x'));
    t.jobs.recordFinalStatus.mockRejectedValue(new Error('connect ECONNREFUSED'));
    await expect(
      new MockActivityEnvironment().run(t.activities.recordJobStatus, { jobId: t.jobId, status: 'completed' } as FinalStatusRecord),
    ).rejects.toThrow('ECONNREFUSED');
  });
});
