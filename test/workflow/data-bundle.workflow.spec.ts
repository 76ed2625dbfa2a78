import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import {
  containerQueueFor,
  DATA_CHECK_WORKFLOW_TYPE,
  dataCheckWorkflowIdFor,
  type DataCheckInput,
  type DataCheckOutcome,
} from '@menagerie/core';
import { localTemporal } from '../support/temporal';

/** The dataBundleCheck workflow on the real Temporal dev server, with a stub check activity. */
jest.setTimeout(120_000);

describe('dataBundleCheck workflow', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await localTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const OUTCOME: DataCheckOutcome = { accepted: false, exitCode: 1, timedOut: false, oomKilled: false, log: 'bad rule', node: 'node-a' };

  async function check(checkDataBundle: (input: DataCheckInput) => Promise<DataCheckOutcome>): Promise<DataCheckOutcome> {
    const engine = `stub-${randomUUID().slice(0, 8)}`;
    const input: DataCheckInput = {
      checkId: randomUUID(),
      engine: {
        name: engine,
        image: 'stub:1',
        cmd: ['/run'],
        mountpoint: '/var/data',
        inputfilename: 'in',
        user: '1000',
        timeout: 30,
        runflags: [],
      },
      bundle: 'rules',
      target: '/rules',
      digest: `sha256:${'a'.repeat(64)}`,
      cmd: ['/check'],
    };
    const workflows = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: engine,
      workflowsPath: require.resolve('../../libs/workflows/src'),
    });
    const containers = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: containerQueueFor(engine),
      activities: { checkDataBundle },
    });
    return workflows.runUntil(
      containers.runUntil(
        env.client.workflow.execute(DATA_CHECK_WORKFLOW_TYPE, {
          taskQueue: engine,
          workflowId: dataCheckWorkflowIdFor(input.checkId),
          args: [input],
        }),
      ),
    );
  }

  it("runs the check on the engine's container queue and answers its outcome", async () => {
    const asked: DataCheckInput[] = [];
    expect(await check(async (input) => (asked.push(input), OUTCOME))).toEqual(OUTCOME);
    expect(asked.map((i) => [i.bundle, i.cmd])).toEqual([['rules', ['/check']]]);
  });

  it('retries a check that broke off (a node that died, a daemon that did not answer)', async () => {
    let attempts = 0;
    const outcome = await check(async () => {
      if (++attempts === 1) throw new Error('docker create: the daemon does not answer');
      return { ...OUTCOME, accepted: true, exitCode: 0 };
    });
    expect(outcome).toMatchObject({ accepted: true });
    expect(attempts).toBe(2);
  });
});
