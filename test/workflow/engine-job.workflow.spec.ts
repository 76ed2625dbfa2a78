import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { Activities } from '@menagerie/activities';
import { containerQueueFor, FAILURE_TYPES, type EngineJobInput, type FinalizeJobInput } from '@menagerie/core';
import { engineJob } from '@menagerie/workflows';
import { TEMPORAL_BIN } from '../support/env';
import { quietTemporalLogs } from '../support/temporal';

/**
 * The real workflow code on the real Temporal dev server, with stub
 * activities: every path must end in exactly one finalizeJob.
 */
jest.setTimeout(120_000);

describe('engineJob workflow', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    quietTemporalLogs();
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: TEMPORAL_BIN }, ip: '127.0.0.1', log: { format: 'pretty', level: 'error' } },
    });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  function input(timeout = 30): EngineJobInput {
    return {
      jobId: randomUUID(),
      engine: {
        name: `stub-${randomUUID()}`,
        image: 'stub:1',
        cmd: ['/run'],
        mountpoint: '/var/data',
        inputfilename: 'in',
        user: '1000',
        timeout,
        runflags: [],
      },
    };
  }

  /** Runs one workflow against the given activities; returns what finalizeJob received. */
  async function run(activities: Partial<Activities>, job = input(), during?: (workflowId: string) => Promise<void>) {
    const finalized: FinalizeJobInput[] = [];
    const taskQueue = job.engine.name;
    const { runEngine, ...short } = {
      stageInput: async () => undefined,
      runEngine: async () => ({ exitCode: 0, imageDigest: 'sha256:abc', logTail: 'ok' }),
      storeResult: async () => ({ name: 'x.stub.json', size: 2, mime: 'application/json' }),
      finalizeJob: async (f: FinalizeJobInput) => void finalized.push(f),
      ...activities,
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../libs/workflows/src'),
      activities: short,
    });
    const containers = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: containerQueueFor(taskQueue),
      maxHeartbeatThrottleInterval: '1 second',
      activities: { runEngine },
    });
    const outcome = await containers.runUntil(() => worker.runUntil(async () => {
      const handle = await env.client.workflow.start(engineJob, { taskQueue, workflowId: `job-${job.jobId}`, args: [job] });
      if (during) await during(handle.workflowId);
      return handle.result().then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => ({ value: undefined, error }),
      );
    }));
    return { ...outcome, finalized, job };
  }

  it('stages, runs, stores and records completion', async () => {
    const order: string[] = [];
    const { value, finalized, job } = await run({
      stageInput: async () => void order.push('stage'),
      runEngine: async () => (order.push('run'), { exitCode: 0, imageDigest: 'sha256:abc', startedAt: '2026-12-01T10:00:00.000Z', logTail: 'engine said hi' }),
      storeResult: async () => (order.push('store'), { name: 'x.stub.json', size: 2, mime: 'application/json' }),
    });
    expect(order).toEqual(['stage', 'run', 'store']);
    expect(finalized).toEqual([
      {
        jobId: job.jobId,
        status: 'completed',
        exitCode: 0,
        logTail: 'engine said hi',
        result: { name: 'x.stub.json', size: 2, mime: 'application/json' },
        // The final write carries what ran and when, whether or not "running" was ever recorded.
        imageDigest: 'sha256:abc',
        startedAt: '2026-12-01T10:00:00.000Z',
      },
    ]);
    expect(value?.status).toBe('completed');
  });

  it('records an engine failure with its exit code and log, and fails the workflow', async () => {
    let attempts = 0;
    const { error, finalized } = await run({
      runEngine: async () => {
        attempts++;
        throw ApplicationFailure.create({
          message: 'engine exited with code 3',
          type: FAILURE_TYPES.engineFailed,
          nonRetryable: true,
          details: [{ exitCode: 3, logTail: 'boom', imageDigest: 'sha256:def', startedAt: '2026-12-01T10:00:01.000Z' }],
        });
      },
    });
    expect(attempts).toBe(1);
    expect(finalized).toHaveLength(1);
    expect(finalized[0]).toMatchObject({
      status: 'failed',
      exitCode: 3,
      logTail: 'boom',
      error: 'engine exited with code 3',
      imageDigest: 'sha256:def',
      startedAt: '2026-12-01T10:00:01.000Z',
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
  });

  it("hands the activities the engine's environment names, never their values", async () => {
    const job = input();
    // As an API from before this version would have started it.
    job.engine.runflags = ['--memory', '512m', '-e', 'TOKEN=s3cret', '--env=OTHER=x=y', '--env', 'PLAIN'];
    const seen: string[][] = [];
    const record = async (i: EngineJobInput) => void seen.push(i.engine.runflags);
    await run(
      {
        stageInput: record,
        runEngine: async (i: EngineJobInput) => (await record(i), { exitCode: 0, imageDigest: 'sha256:abc', logTail: '' }),
        storeResult: async (i: EngineJobInput) => (await record(i), { name: 'x', size: 1, mime: 'text/plain' }),
      },
      job,
    );
    expect(seen).toEqual(Array(3).fill(['--memory', '512m', '-e', 'TOKEN', '--env=OTHER', '--env', 'PLAIN']));
  });

  it('records what ran when the engine exited 0 but its result was refused', async () => {
    const { finalized } = await run({
      runEngine: async () => ({ exitCode: 0, imageDigest: 'sha256:abc', startedAt: '2026-12-01T10:00:02.000Z', logTail: 'done' }),
      storeResult: async () => {
        throw ApplicationFailure.create({ message: 'engine finished but wrote no result file', type: FAILURE_TYPES.noResult, nonRetryable: true });
      },
    });
    expect(finalized).toEqual([
      expect.objectContaining({ status: 'failed', error: 'engine finished but wrote no result file', imageDigest: 'sha256:abc', startedAt: '2026-12-01T10:00:02.000Z' }),
    ]);
  });

  it('records timed_out when the engine outlives its timeout', async () => {
    const { finalized } = await run({
      runEngine: async () => {
        throw ApplicationFailure.create({ message: 'engine exceeded its timeout of 1s', type: FAILURE_TYPES.engineTimeout, nonRetryable: true, details: [{ logTail: 'partial' }] });
      },
    });
    expect(finalized).toEqual([expect.objectContaining({ status: 'timed_out', logTail: 'partial' })]);
  });

  it('retries infrastructure errors, then records the failure', async () => {
    let attempts = 0;
    const { finalized } = await run({
      stageInput: async () => {
        attempts++;
        throw new Error('disk unplugged');
      },
    });
    expect(attempts).toBe(5);
    expect(finalized).toEqual([expect.objectContaining({ status: 'failed', error: 'disk unplugged' })]);
  });

  it('on cancellation waits for the engine to stop, then records cancelled', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let sawCancel = false;
    const { error, finalized } = await run(
      {
        runEngine: async () => {
          const ctx = Context.current();
          started();
          try {
            for (;;) {
              ctx.heartbeat();
              await ctx.sleep(100);
            }
          } catch (err) {
            sawCancel = err instanceof CancelledFailure;
            throw err;
          }
        },
      },
      input(),
      async (workflowId) => {
        await running;
        await env.client.workflow.getHandle(workflowId).cancel();
      },
    );
    expect(sawCancel).toBe(true);
    expect(finalized).toEqual([expect.objectContaining({ status: 'cancelled' })]);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  });

  it('keeps trying to record the final status while the database is down', async () => {
    let calls = 0;
    const finalized: FinalizeJobInput[] = [];
    await run({
      finalizeJob: async (f: FinalizeJobInput) => {
        if (++calls < 3) throw new Error('connection refused');
        finalized.push(f);
      },
    });
    expect(calls).toBe(3);
    expect(finalized).toEqual([expect.objectContaining({ status: 'completed' })]);
  });
});
