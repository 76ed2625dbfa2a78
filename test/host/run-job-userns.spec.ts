import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FAILURE_TYPES, type UserNamespace } from '@menagerie/core';
import type { RunOutcome } from '@menagerie/runtime';
import { ENGINE, failureOf, setup } from '../support/run-job';

// Giving a directory away needs root (as the worker is); elsewhere the job directory is opened to all instead.
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('runJob on a Docker daemon that remaps user namespaces (--userns-remap)', () => {
  const REMAP: UserNamespace = { uid: 100000, gid: 200000, size: 65536 };
  /** The engine sees who owns its directory and its input, as the host does. */
  const owners: Array<{ dir: string; input: string }> = [];
  const seesOwners: (dir: string) => Partial<RunOutcome> = (dir) => {
    const owner = (path: string) => `${statSync(path).uid}:${statSync(path).gid}`;
    owners.push({ dir: owner(dir), input: owner(join(dir, ENGINE.inputfilename)) });
    writeFileSync(join(dir, 'result'), '{}');
    return {};
  };
  beforeEach(() => owners.splice(0));

  it("gives the job directory to the engine's remapped ids, and still runs the container as the engine's own user", async () => {
    const t = await setup(seesOwners);
    t.runtime.userNamespace.mockResolvedValue(REMAP);
    await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, user: '1000:1001' } });
    expect(owners).toEqual([{ dir: '101000:201001', input: '101000:201001' }]);
    expect(t.runs[0]!.request.user).toBe('1000:1001');
  });

  it('gives it to the engine user itself on a daemon that does not remap', async () => {
    const t = await setup(seesOwners);
    await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(owners).toEqual([{ dir: '1000:1000', input: '1000:1000' }]);
  });

  it('gives it to the engine user itself when the engine opts out of the namespace (--userns=host, allowed)', async () => {
    const t = await setup(seesOwners, { allowRunflags: ['--userns=host'] });
    t.runtime.userNamespace.mockResolvedValue(REMAP);
    await new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, runflags: ['--userns=host'] } });
    expect(owners).toEqual([{ dir: '1000:1000', input: '1000:1000' }]);
  });

  it('fails EngineFailed, running nothing, for an engine user the namespace does not map', async () => {
    const t = await setup(seesOwners);
    t.runtime.userNamespace.mockResolvedValue(REMAP);
    const failure = await failureOf(
      new MockActivityEnvironment().run(t.activities.runJob, { ...t.input, engine: { ...ENGINE, user: '70000' } }),
    );
    expect(failure).toMatchObject({ type: FAILURE_TYPES.engineFailed, nonRetryable: true });
    expect(failure.message).toMatch(/uid 70000 is outside the 65536 ids/);
    expect(t.runtime.run).not.toHaveBeenCalled();
  });
});
