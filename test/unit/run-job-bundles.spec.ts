import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FAILURE_TYPES, type DataCheckInput, type DataCheckOutcome } from '@menagerie/core';
import { bundleTar } from '../support/bundles';
import { ENGINE, failureOf, setup, writesResult } from '../support/run-job';

describe("runJob with the engine's data bundles", () => {
  it('mounts each bundle at its version from the store, read-only, at its target, and holds it only while it runs', async () => {
    const rules = await bundleTar({ 'a.yar': 'rule a', 'sub/b.yar': 'rule b' });
    const t = await setup(writesResult('done'));
    await t.blobs.bundles.put(rules.digest, Readable.from([rules.tar]), 1e9);
    const input = {
      ...t.input,
      engine: { ...ENGINE, data: { rules: { target: '/rules', digest: rules.digest }, sigs: { target: '/sigs', digest: null } } },
    };

    await new MockActivityEnvironment().run(t.activities.runJob, input);

    const [mounts] = t.runs.map((r) => r.request.dataMounts);
    expect(mounts).toEqual([
      { hostDir: join(t.scratch.area, 'bundles', rules.digest.slice(7)), target: '/rules', sealed: false },
      { hostDir: join(t.scratch.area, 'bundles', 'empty'), target: '/sigs', sealed: false },
    ]);
    expect(readFileSync(join(mounts![0].hostDir, 'sub/b.yar'), 'utf8')).toBe('rule b');
    expect(readdirSync(mounts![1].hostDir)).toEqual([]);
    // Released once the run ended: a version no longer current is swept.
    expect(await t.scratch.bundles.sweep(new Set())).toEqual([rules.digest]);
  });

  it('runs an engine without bundles as ever: no mounts', async () => {
    const t = await setup(writesResult('done'));
    await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(t.runs[0].request.dataMounts).toEqual([]);
  });

  it('fails the job for good, naming it, when the store does not have the version it was given', async () => {
    const t = await setup(writesResult('done'));
    const missing = `sha256:${'9'.repeat(64)}`;
    const input = { ...t.input, engine: { ...ENGINE, data: { rules: { target: '/rules', digest: missing } } } };
    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, input));
    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true });
    expect(failure.message).toBe(`engine filemeta: data bundle rules ${missing} is not in the store`);
    expect(t.runs).toEqual([]);
  });
});

describe('checkDataBundle: an engine datacheck of a pushed version', () => {
  async function check(exitCode: number, log: string) {
    const rules = await bundleTar({ 'a.yar': 'rule a' });
    const t = await setup(() => ({ exitCode, log: Buffer.from(log), logTail: () => log }));
    await t.blobs.bundles.put(rules.digest, Readable.from([rules.tar]), 1e9);
    const input: DataCheckInput = {
      checkId: t.jobId,
      engine: ENGINE,
      bundle: 'rules',
      target: '/rules',
      digest: rules.digest,
      cmd: ['/engine/check.sh'],
    };
    const outcome: DataCheckOutcome = await new MockActivityEnvironment().run(t.activities.checkDataBundle, input);
    return { t, rules, outcome };
  }

  it("runs the check in the engine's image, contained as a job, with the bundle mounted and no input, and says it accepts", async () => {
    const { t, rules, outcome } = await check(0, 'ok: 1 rule compiled\n');
    expect(outcome).toEqual({
      accepted: true,
      exitCode: 0,
      timedOut: false,
      oomKilled: false,
      log: 'ok: 1 rule compiled\n',
      node: 'node-a',
    });
    const { request } = t.runs[0];
    expect(request).toMatchObject({
      cmd: ['/engine/check.sh'],
      user: ENGINE.user,
      timeoutMs: ENGINE.timeout * 1000,
      mountpoint: ENGINE.mountpoint,
    });
    expect(request.dataMounts).toEqual([
      { hostDir: join(t.scratch.area, 'bundles', rules.digest.slice(7)), target: '/rules', sealed: false },
    ]);
    expect(request.env.some((e) => e.startsWith('MENAGERIE_INPUT='))).toBe(false);
    expect(t.runs[0].input).toBeNull();
    // Reported as running while it ran; its directory and container gone after.
    expect(t.runningDuringRun).toEqual([[t.jobId]]);
    expect(existsSync(t.scratch.dir(t.jobId))).toBe(false);
    expect(await t.scratch.bundles.list()).toEqual([rules.digest]);
  });

  it('says it refuses, with what the check printed, and leaves no copy of the refused version on the node', async () => {
    const { t, outcome } = await check(1, 'ERROR: the rules do not compile: a.yar(1): syntax error\n');
    expect(outcome).toMatchObject({ accepted: false, exitCode: 1, log: 'ERROR: the rules do not compile: a.yar(1): syntax error\n' });
    expect(await t.scratch.bundles.list()).toEqual([]);
  });
});
