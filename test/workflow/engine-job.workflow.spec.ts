import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '@menagerie/temporal';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { Activities } from '@menagerie/activities';
import {
  containerQueueFor,
  currentVersion,
  FAILURE_TYPES,
  type EngineJobInput,
  type FinalStatusRecord,
  type JobRun,
} from '@menagerie/core';
import { engineJob } from '@menagerie/workflows';
import { localTemporal } from '../support/temporal';

/**
 * The real workflow code on the real Temporal dev server, with stub
 * activities: every path must end in exactly one recordJobStatus. (Earlier
 * versions, with their own steps, are covered by replay.spec.ts.)
 */
jest.setTimeout(120_000);

const nodeKey = SEARCH_ATTRIBUTE_KEYS.node;
const RESULT = { name: 'x.stub.json', size: 2, mime: 'application/json' };

function ran(overrides: Partial<JobRun> = {}): JobRun {
  return {
    exitCode: 0,
    imageDigest: 'sha256:abc',
    startedAt: '2026-12-01T10:00:00.000Z',
    logTail: 'ok',
    node: 'node-a',
    result: RESULT,
    ...overrides,
  };
}

describe('engineJob workflow', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await localTemporal();
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

  /** Runs one workflow against the given activities; returns what recordJobStatus received, and the workflow's node attribute. */
  async function run(activities: Partial<Activities>, job = input(), during?: (workflowId: string) => Promise<void>) {
    const finalized: FinalStatusRecord[] = [];
    const taskQueue = job.engine.name;
    const { runJob, ...short } = {
      runJob: async () => ran(),
      recordJobStatus: async (f: FinalStatusRecord) => void finalized.push(f),
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
      activities: { runJob },
    });
    const outcome = await containers.runUntil(() =>
      worker.runUntil(async () => {
        const handle = await env.client.workflow.start(engineJob, { taskQueue, workflowId: `job-${job.jobId}`, args: [job] });
        if (during) await during(handle.workflowId);
        const ended = await handle.result().then(
          (value) => ({ value, error: undefined }),
          (error: unknown) => ({ value: undefined, error }),
        );
        const attributes = (await handle.describe()).typedSearchAttributes;
        return { ...ended, node: attributes.get(nodeKey) ?? null, version: attributes.get(SEARCH_ATTRIBUTE_KEYS.workflowVersion) };
      }),
    );
    return { ...outcome, finalized, job };
  }

  it('runs the job in one node-local activity, records completion with where it ran, and sets the node attribute', async () => {
    let calls = 0;
    const { value, finalized, job, node, version } = await run({
      runJob: async () => (calls++, ran({ logTail: 'engine said hi', node: 'node-b' })),
    });
    expect(calls).toBe(1);
    expect(finalized).toEqual([
      {
        jobId: job.jobId,
        status: 'completed',
        exitCode: 0,
        logTail: 'engine said hi',
        result: RESULT,
        // The final write carries what ran, when and where, whether or not "running" was ever recorded.
        imageDigest: 'sha256:abc',
        startedAt: '2026-12-01T10:00:00.000Z',
        node: 'node-b',
      },
    ]);
    // And the version it runs at, which the workers' start-up check reads.
    expect(version).toBe(currentVersion('engineJob'));
    expect(value?.status).toBe('completed');
    expect(node).toBe('node-b');
  });

  it('records an engine failure with its exit code, log and node, and fails the workflow', async () => {
    let attempts = 0;
    const { error, finalized, node } = await run({
      runJob: async () => {
        attempts++;
        throw ApplicationFailure.create({
          message: 'engine exited with code 3',
          type: FAILURE_TYPES.engineFailed,
          nonRetryable: true,
          details: [{ exitCode: 3, logTail: 'boom', imageDigest: 'sha256:def', startedAt: '2026-12-01T10:00:01.000Z', node: 'node-a' }],
        });
      },
    });
    expect(attempts).toBe(1);
    expect(finalized).toEqual([
      expect.objectContaining({
        status: 'failed',
        exitCode: 3,
        logTail: 'boom',
        error: 'engine exited with code 3',
        imageDigest: 'sha256:def',
        startedAt: '2026-12-01T10:00:01.000Z',
        node: 'node-a',
      }),
    ]);
    expect(node).toBe('node-a');
    expect(error).toBeInstanceOf(WorkflowFailedError);
  });

  it("hands the run the engine's environment names, never their values", async () => {
    const job = input();
    // As an API from before version 3 would have started it.
    job.engine.runflags = ['--memory', '512m', '-e', 'TOKEN=s3cret', '--env=OTHER=x=y', '--env', 'PLAIN'];
    const seen: string[][] = [];
    await run({ runJob: async (i: EngineJobInput) => (seen.push(i.engine.runflags), ran()) }, job);
    expect(seen).toEqual([['--memory', '512m', '-e', 'TOKEN', '--env=OTHER', '--env', 'PLAIN']]);
  });

  it('records timed_out when the engine outlives its timeout', async () => {
    const { finalized } = await run({
      runJob: async () => {
        throw ApplicationFailure.create({
          message: 'engine exceeded its timeout of 1s',
          type: FAILURE_TYPES.engineTimeout,
          nonRetryable: true,
          details: [{ logTail: 'partial' }],
        });
      },
    });
    expect(finalized).toEqual([expect.objectContaining({ status: 'timed_out', logTail: 'partial' })]);
  });

  it('retries infrastructure errors (on any node), then records the failure', async () => {
    let attempts = 0;
    const { finalized, node } = await run({
      runJob: async () => {
        attempts++;
        throw new Error('disk unplugged');
      },
    });
    expect(attempts).toBe(5);
    expect(finalized).toEqual([expect.objectContaining({ status: 'failed', error: 'disk unplugged' })]);
    expect(node).toBeNull();
  });

  it('completes on a retry after an attempt failed', async () => {
    let attempts = 0;
    const { finalized } = await run({
      runJob: async () => {
        if (++attempts === 1) throw new Error('node lost its store connection');
        return ran({ node: 'node-b' });
      },
    });
    expect(attempts).toBe(2);
    expect(finalized).toEqual([expect.objectContaining({ status: 'completed', node: 'node-b' })]);
  });

  it('on cancellation waits for the run to stop, then records cancelled', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let sawCancel = false;
    const { error, finalized } = await run(
      {
        runJob: async () => {
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
    const finalized: FinalStatusRecord[] = [];
    await run({
      recordJobStatus: async (f: FinalStatusRecord) => {
        if (++calls < 3) throw new Error('connection refused');
        finalized.push(f);
      },
    });
    expect(calls).toBe(3);
    expect(finalized).toEqual([expect.objectContaining({ status: 'completed' })]);
  });
});
