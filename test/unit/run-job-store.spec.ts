import { existsSync } from 'node:fs';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { FAILURE_TYPES, MenagerieError, type JobRun } from '@menagerie/core';
import { failureOf, setup, unavailable, writesResult } from '../support/run-job';

// runJob while the store is away: waited out, given up on (to be retried), missing the input, cancelled meanwhile.

// The waits are runJob's real backoff (1 s, then 2 s): a run takes seconds, and more on a loaded machine.
jest.setTimeout(30_000);

describe('runJob (workflow version 4: the whole run on one node)', () => {
  it('waits out a store that is unavailable for a while when storing the result, without running the engine again', async () => {
    // Two refusals are waited out with 1 s, then 2 s of backoff: well within storeRetryMs.
    const t = await setup(writesResult('{"verdict": "clean"}'), { storeRetryMs: 10_000 });
    let refusals = 2;
    t.blobs.failPut = (kind) => (kind === 'result' && refusals-- > 0 ? unavailable() : null);

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);

    expect(run.result).toEqual({ name: 'sample.filemeta.json', size: 20, mime: 'application/json' });
    expect(t.blobs.puts.filter((k) => k === 'result')).toHaveLength(3);
    // Each try read the result from its start.
    expect(t.stored('result')).toBe('{"verdict": "clean"}');
    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails the attempt with STORAGE_UNAVAILABLE (to be retried) when the store stays away past storeRetryMs, and clears the node', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'), { storeRetryMs: 1500 });
    t.blobs.failPut = (kind) => (kind === 'result' ? unavailable() : null);

    const err = await new MockActivityEnvironment().run(t.activities.runJob, t.input).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(MenagerieError);
    expect(err).not.toBeInstanceOf(ApplicationFailure); // a plain error: Temporal retries it
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    // One wait of 1 s fits in 1.5 s, a second of 2 s would not.
    expect(t.blobs.puts.filter((k) => k === 'result')).toHaveLength(2);
    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails InputMissing, without retries and without running anything, when the stored input is gone', async () => {
    const t = await setup(writesResult('x'));
    await t.blobs.remove(t.jobId);

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({
      type: FAILURE_TYPES.inputMissing,
      nonRetryable: true,
      message: `the stored input of job ${t.jobId} is missing`,
    });
    expect(t.runtime.run).not.toHaveBeenCalled();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('stops waiting for the store when the job is cancelled during the backoff', async () => {
    const t = await setup(writesResult('x'), { storeRetryMs: 600_000 });
    let waiting!: () => void;
    const backingOff = new Promise<void>((resolve) => (waiting = resolve));
    const logger = new DefaultLogger('WARN', (entry) => {
      if (entry.message.startsWith('the store is unavailable; waiting to fetch the input')) waiting();
    });
    const env = new MockActivityEnvironment(undefined, { logger });
    t.blobs.failOpen = () => unavailable();

    const run = env.run(t.activities.runJob, t.input).catch((e: unknown) => e);
    await backingOff;
    env.cancel();
    const err = await run;

    expect(err).toBeInstanceOf(CancelledFailure);
    expect(t.blobs.opens).toEqual(['input']);
    expect(t.runtime.run).not.toHaveBeenCalled();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('ends as cancelled, not as a store failure to retry, when the cancel comes while a store call is in flight', async () => {
    const t = await setup(writesResult('x'), { storeRetryMs: 600_000 });
    const env = new MockActivityEnvironment();
    let inFlight!: () => void;
    const asked = new Promise<void>((resolve) => (inFlight = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    t.blobs.failOpen = async () => {
      inFlight();
      await answered; // the store times out only after the cancel arrived
      return unavailable();
    };

    const run = env.run(t.activities.runJob, t.input).catch((e: unknown) => e);
    await asked;
    env.cancel();
    answer();
    const err = await run;

    expect(err).toBeInstanceOf(CancelledFailure);
    expect(t.runtime.run).not.toHaveBeenCalled();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });
});
