import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { findUnrunnableWorkflows, refuseUnrunnableWorkflows } from '@menagerie/temporal';
import type { EngineJobInput } from '@menagerie/core';
import { localTemporal } from '../support/temporal';

/** Waits until a workflow has run its first task, which fixes its version. */
async function ranATask(handle: WorkflowHandle): Promise<void> {
  for (;;) {
    const { events } = await handle.fetchHistory();
    if (events?.some((e) => e.workflowTaskCompletedEventAttributes)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const JOB: EngineJobInput = {
  jobId: '00000000-0000-4000-8000-000000000005',
  engine: {
    name: 'stub',
    image: 'stub:1',
    cmd: ['/run'],
    mountpoint: '/var/data',
    inputfilename: 'in',
    user: '1000',
    timeout: 30,
    runflags: [],
  },
  originalName: 'sample.bin',
};

describe('workers refuse to start while workflows of versions the code no longer runs are open', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await localTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const unrunnable = async () =>
    (await findUnrunnableWorkflows(env.client))
      .map(({ type, workflowId, version }) => ({ type, workflowId, version }))
      .sort((a, b) => a.workflowId.localeCompare(b.workflowId));

  it('lets a fresh deployment start', async () => {
    expect(await unrunnable()).toEqual([]);
    await expect(refuseUnrunnableWorkflows(env.client)).resolves.toBeUndefined();
  });

  it('finds the open workflows of removed versions, and only those', async () => {
    const old = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'old',
      workflowsPath: require.resolve('../fixtures/workflows/old-versions'),
    });
    const current = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'stub',
      workflowsPath: require.resolve('../../libs/workflows/src'),
    });
    const start = (type: string, workflowId: string, taskQueue: string, args: unknown[]) =>
      env.client.workflow.start(type, { workflowId, taskQueue, args });
    await current.runUntil(() =>
      old.runUntil(async () => {
        const handles = [
          await start('engineJob', 'old-v1', 'old', ['v1']),
          await start('engineJob', 'old-v2', 'old', ['v2']),
          await start('engineJob', 'old-v4', 'old', ['v4']),
          await start('retentionSweep', 'old-retention-v1', 'old', []),
          // Today's: its run waits for a container worker that isn't there.
          await start('engineJob', 'current', 'stub', [JOB]),
        ];
        await Promise.all(handles.map(ranATask));
      }),
    );
    // Started by an API, and not run yet: the first worker to run it decides its version.
    await start('engineJob', 'queued', 'nobody', [JOB]);

    expect(await unrunnable()).toEqual([
      { type: 'retentionSweep', workflowId: 'old-retention-v1', version: 1 },
      { type: 'engineJob', workflowId: 'old-v1', version: 1 },
      { type: 'engineJob', workflowId: 'old-v2', version: 2 },
    ]);
    await expect(refuseUnrunnableWorkflows(env.client)).rejects.toThrow(
      /no longer runs \(it runs engineJob v4, retentionSweep v2 and later\): .*old-v1 \(engineJob v1\).*temporal workflow terminate --namespace default/,
    );
  }, 60_000);

  it('lets the worker start once they have ended', async () => {
    for (const id of ['old-v1', 'old-v2', 'old-retention-v1']) await env.client.workflow.getHandle(id).terminate('ended for the upgrade');
    // What is still open is of versions this code runs, or not run yet.
    expect(await unrunnable()).toEqual([]);
    await expect(refuseUnrunnableWorkflows(env.client)).resolves.toBeUndefined();
  });
});
