import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { JobEntity } from '@menagerie/db';
import { cacheKey } from '@menagerie/engines';
import { MockActivityEnvironment } from '@temporalio/testing';
import { completedJob, FAILURE_TYPES, type JobRun } from '@menagerie/core';
import { DIGEST, ENGINE, ENGINE_LOG, facts, failureOf, setup, STARTED, writesResult } from '../support/run-job';

// A store that is away: run-job-store.spec.ts; the registry rules: run-job-images.spec.ts; storeResult and
// recordJobStatus: run-job-steps.spec.ts; a remapping daemon's ids (root): test/host/run-job-userns.spec.ts.

describe('runJob (workflow version 4: the whole run on one node)', () => {
  it('fetches the input, runs the engine on it, stores the result and the log, and leaves nothing behind', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'));

    const run = await new MockActivityEnvironment().run(t.activities.runJob, t.input);

    expect(run).toEqual({
      exitCode: 0,
      imageDigest: DIGEST,
      startedAt: STARTED.toISOString(),
      node: 'node-a',
      logTail: ENGINE_LOG,
      result: { name: 'sample.filemeta.json', size: 20, mime: 'application/json' },
    });
    expect(t.stored('result')).toBe('{"verdict": "clean"}');
    expect(t.stored('log')).toBe(ENGINE_LOG);
    // The engine ran once, on the fetched input, in this node's scratch directory for the job.
    expect(t.runs.map((r) => [r.input, r.request.hostDir])).toEqual([['the sample bytes', t.scratch.dir(t.jobId)]]);
    expect(t.runs[0]!.request.env).toContain('MENAGERIE_INPUT=sample');
    expect(t.runningDuringRun).toEqual([[t.jobId]]);
    expect(t.jobs.markRunning).toHaveBeenCalledWith(t.jobId, ENGINE.image, DIGEST, 'node-a');
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(await t.scratch.list()).toEqual([]);
    expect(t.running.size).toBe(0);
  });

  it('records the completed job itself, as the workflow would, before it returns; a failed run records nothing', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'));
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(t.jobs.recordFinalStatus.mock.calls).toEqual([[completedJob(t.jobId, run)]]);
    expect(completedJob(t.jobId, run)).toEqual({
      jobId: t.jobId,
      status: 'completed',
      exitCode: 0,
      logTail: ENGINE_LOG,
      result: { name: 'sample.filemeta.json', size: 20, mime: 'application/json' },
      imageDigest: DIGEST,
      startedAt: STARTED.toISOString(),
      node: 'node-a',
    });

    const failed = await setup(() => ({ exitCode: 3 }));
    await failureOf(new MockActivityEnvironment().run(failed.activities.runJob, failed.input));
    expect(failed.jobs.recordFinalStatus).not.toHaveBeenCalled(); // a failure is the workflow's to record
  });

  it('still hands its run back when the database does not take that early record', async () => {
    const t = await setup(writesResult('{}'));
    t.jobs.recordFinalStatus.mockRejectedValue(new Error('connection terminated'));
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(run.result).toEqual({ name: 'sample.filemeta.json', size: 2, mime: 'application/json' });
  });

  it('on a retry of a job an earlier attempt already recorded completed, hands back that run without running the engine', async () => {
    const t = await setup(writesResult('{}'));
    t.jobs.findById.mockResolvedValue({
      originalName: 'sample.apk',
      status: 'completed',
      exitCode: 0,
      imageDigest: DIGEST,
      startedAt: STARTED,
      logTail: ENGINE_LOG,
      node: 'node-b',
      resultName: 'sample.filemeta.json',
      resultSize: 20,
      resultMime: 'application/json',
    } as never);
    const run = await new MockActivityEnvironment({ attempt: 2 }).run(t.activities.runJob, t.input);
    expect(run).toEqual({
      exitCode: 0,
      imageDigest: DIGEST,
      startedAt: STARTED.toISOString(),
      logTail: ENGINE_LOG,
      node: 'node-b',
      result: { name: 'sample.filemeta.json', size: 20, mime: 'application/json' },
    });
    expect(t.runs).toEqual([]);
    expect(t.jobs.recordFinalStatus).not.toHaveBeenCalled();
  });

  it('fails EngineFailed on a non-zero exit, with what ran, when and where; the log is kept and the node is cleared', async () => {
    const t = await setup(() => ({ exitCode: 3 }));

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true, message: 'engine exited with code 3' });
    expect(failure.details).toEqual([facts(3)]);
    expect(t.stored('log')).toBe(ENGINE_LOG);
    expect(t.stored('result')).toBeUndefined();
    // A run that did not end clean may have left a container: it is removed by job id.
    expect(t.runtime.removeJobContainers).toHaveBeenCalledWith(t.jobId);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails NoResult, with the facts of the run, when the engine wrote no result file', async () => {
    const t = await setup(() => ({}));

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({
      type: FAILURE_TYPES.noResult,
      nonRetryable: true,
      message: 'engine finished but wrote no result file at /job/result',
    });
    expect(failure.details).toEqual([facts(0)]);
    expect(t.stored('log')).toBe(ENGINE_LOG);
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(t.running.size).toBe(0);
  });

  it('fails NoResult, with the facts of the run, for a result over resultLimitBytes, and stores none of it', async () => {
    const t = await setup(writesResult(Buffer.alloc(2000, 'r')), { resultLimitBytes: 1000 });

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure).toMatchObject({
      type: FAILURE_TYPES.noResult,
      nonRetryable: true,
      message: "engine's result is larger than the limit of 1000 bytes",
    });
    expect(failure.details).toEqual([facts(0)]);
    expect(t.stored('result')).toBeUndefined();
    await t.scratch.settled(); // removed in the background, once the run is over
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
  });

  it('on a retry, first removes the containers an earlier attempt left, then runs afresh', async () => {
    const t = await setup(writesResult('{"verdict": "clean"}'));
    t.runtime.removeJobContainers.mockResolvedValueOnce(['c0ffee']);

    await new MockActivityEnvironment({ attempt: 2 }).run(t.activities.runJob, t.input);

    expect(t.runtime.removeJobContainers).toHaveBeenCalledWith(t.jobId);
    expect(t.runtime.removeJobContainers.mock.invocationCallOrder[0]).toBeLessThan(t.runtime.run.mock.invocationCallOrder[0]!);
    expect(t.stored('result')).toBe('{"verdict": "clean"}');
  });

  it('fails a refused runflag before fetching anything', async () => {
    const t = await setup(writesResult('x'));
    const failure = await failureOf(
      new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, runflags: ['--privileged'] } }),
    );
    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true });
    expect(t.blobs.opens).toEqual([]);
    expect(t.runtime.run).not.toHaveBeenCalled();
    expect(t.running.size).toBe(0);
  });
});

describe('runJob: the cache re-check with the digest the node resolved', () => {
  const SHA = 'a'.repeat(64);
  const keyOf = (digest: string) => cacheKey({ spec: ENGINE, env: [], imageDigest: digest, sha256: SHA });
  const original = (over: Partial<JobEntity> = {}) =>
    ({
      id: randomUUID(),
      originalName: 'first.apk',
      status: 'completed',
      exitCode: 0,
      imageDigest: DIGEST,
      logTail: 'from the first run',
      resultName: 'first.filemeta.json',
      resultSize: 7,
      resultMime: 'application/json',
      ...over,
    }) as JobEntity;

  it('serves a completed run of the same key within the TTL: no container, its result and log shared, named after this upload', async () => {
    const t = await setup(writesResult('not this'));
    const first = original();
    t.blobs.blobs.set(`${first.id}/result`, Buffer.from('{"a":1}'));
    t.blobs.blobs.set(`${first.id}/log`, Buffer.from('first log'));
    t.jobs.findCached.mockResolvedValue(first);

    const before = Date.now();
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, sha256: SHA, cacheTtlSeconds: 3600 });
    const after = Date.now();

    expect(t.runtime.run).not.toHaveBeenCalled();
    expect(t.jobs.findCached).toHaveBeenCalledWith(keyOf(DIGEST), expect.any(Date));
    const since = t.jobs.findCached.mock.calls[0][1];
    // The window reaches back the TTL from when the lookup ran, which is between `before` and `after`.
    expect(since.getTime()).toBeGreaterThanOrEqual(before - 3600 * 1000);
    expect(since.getTime()).toBeLessThanOrEqual(after - 3600 * 1000);
    expect(run).toMatchObject({ cachedFrom: first.id, cacheKey: keyOf(DIGEST), logTail: 'from the first run' });
    expect(run.result).toEqual({ name: 'sample.filemeta.json', size: 7, mime: 'application/json' });
    expect(t.stored('result')).toBe('{"a":1}');
    expect(t.stored('log')).toBe('first log');
    expect(t.jobs.recordFinalStatus).toHaveBeenCalledWith(
      expect.objectContaining({ status: 'completed', cachedFrom: first.id, cacheKey: keyOf(DIGEST) }),
    );
  });

  it('runs the engine, and records the key of what ran, when the cache is not to be asked (force, or a TTL of 0)', async () => {
    const t = await setup(writesResult('{"fresh":true}'));
    t.jobs.findCached.mockResolvedValue(original());

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, sha256: SHA });

    expect(t.jobs.findCached).not.toHaveBeenCalled();
    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    expect(run.cacheKey).toBe(keyOf(DIGEST));
    expect(run.cachedFrom).toBeUndefined();
    expect(t.jobs.recordFinalStatus).toHaveBeenCalledWith(expect.objectContaining({ cacheKey: keyOf(DIGEST) }));
  });

  it('runs the engine when the cached result is gone from the store (retention removed it meanwhile)', async () => {
    const t = await setup(writesResult('{"fresh":true}'));
    t.jobs.findCached.mockResolvedValue(original());

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, sha256: SHA, cacheTtlSeconds: 60 });

    expect(t.runtime.run).toHaveBeenCalledTimes(1);
    expect(run.cachedFrom).toBeUndefined();
    expect(t.stored('result')).toBe('{"fresh":true}');
  });

  it("stages a submission's shared input (inputFrom), not one of its own", async () => {
    const t = await setup(writesResult('{}'));
    const submission = randomUUID();
    t.blobs.blobs.set(`${submission}/input`, Buffer.from('the shared bytes'));
    t.blobs.blobs.delete(`${t.jobId}/input`);

    await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, inputFrom: submission });

    expect(t.runs[0].input).toBe('the shared bytes');
  });
});
