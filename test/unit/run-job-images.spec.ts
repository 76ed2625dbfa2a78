import { MockActivityEnvironment } from '@temporalio/testing';
import { FAILURE_TYPES, type JobRun } from '@menagerie/core';
import { RegistryError, type ImageInfo, type RegistryAuth } from '@menagerie/runtime';
import { DIGEST, ENGINE, failureOf, setup, writesResult } from '../support/run-job';

describe('runJob: which image runs (the registry rules)', () => {
  const AUTH: RegistryAuth = { username: 'menagerie', password: 'secret', serveraddress: '172.17.0.1:5000' };
  const NEW = 'sha256:' + 'e'.repeat(64);
  /** A node whose daemon has `local` (null: nothing) and whose registry says `remote` (or refuses with it). */
  async function node(local: ImageInfo | null, remote: string | RegistryError, options: { registry?: boolean; image?: string } = {}) {
    const t = await setup(writesResult('{}'), { registry: options.registry === false ? null : { auth: AUTH } });
    let present = local;
    t.runtime.inspectImage.mockImplementation(async () => present);
    t.runtime.registryDigest.mockImplementation(async () => {
      if (remote instanceof RegistryError) throw remote;
      return remote;
    });
    t.runtime.pullImage.mockImplementation(async () => {
      if (remote instanceof RegistryError) throw remote;
      present = { id: 'sha256:pulled', digest: remote };
    });
    const input = options.image ? { ...t.input, engine: { ...t.input.engine, image: options.image } } : t.input;
    return { ...t, input, run: (): Promise<JobRun> => new MockActivityEnvironment().run(t.activities.runJob, input) };
  }

  it('runs the present image when the registry says the tag is still that version, without pulling', async () => {
    const t = await node({ id: 'sha256:local', digest: DIGEST }, DIGEST);
    expect((await t.run()).imageDigest).toBe(DIGEST);
    expect(t.runtime.registryDigest).toHaveBeenCalledWith(ENGINE.image, AUTH);
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
  });

  it('pulls a version pushed under the same tag, and runs that one', async () => {
    const t = await node({ id: 'sha256:local', digest: DIGEST }, NEW);
    expect((await t.run()).imageDigest).toBe(NEW);
    expect(t.runtime.pullImage).toHaveBeenCalledWith(ENGINE.image, AUTH, expect.any(Function));
    expect(t.runs[0]!.request.image).toEqual({ id: 'sha256:pulled', digest: NEW });
  });

  it('pulls a missing image, and runs it', async () => {
    const t = await node(null, NEW);
    expect((await t.run()).imageDigest).toBe(NEW);
    expect(t.runtime.pullImage).toHaveBeenCalledTimes(1);
  });

  it('keeps running the present image while the registry does not answer', async () => {
    const t = await node({ id: 'sha256:local', digest: DIGEST }, new RegistryError('unreachable', ENGINE.image, 'connection refused'));
    expect((await t.run()).imageDigest).toBe(DIGEST);
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
  });

  it.each([
    [
      'wrong credentials',
      new RegistryError('unauthorized', ENGINE.image, 'unauthorized: authentication required'),
      /refused the credentials/,
    ],
    ['an unknown tag', new RegistryError('unknown', ENGINE.image, 'manifest unknown'), /has no image menagerie\/filemeta:1/],
    ['a registry that is down', new RegistryError('unreachable', ENGINE.image, 'connection refused'), /could not be reached/],
  ])('fails a job whose image is missing, once and with the reason, for %s', async (_what, refusal, reason) => {
    const t = await node(null, refusal);
    const failure = await failureOf(t.run());
    expect(failure.type).toBe(FAILURE_TYPES.imageNotFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^image not found: menagerie\/filemeta:1: /);
    expect(failure.message).toMatch(reason);
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
    expect(t.runs).toEqual([]);
  });

  it('runs a pinned version (image@sha256:...) as present, without asking the registry; pulls it when missing', async () => {
    const pinned = `menagerie/filemeta@${DIGEST}`;
    const present = await node({ id: 'sha256:local', digest: DIGEST }, NEW, { image: pinned });
    expect((await present.run()).imageDigest).toBe(DIGEST);
    expect(present.runtime.registryDigest).not.toHaveBeenCalled();
    expect(present.runtime.pullImage).not.toHaveBeenCalled();

    const missing = await node(null, DIGEST, { image: pinned });
    expect((await missing.run()).imageDigest).toBe(DIGEST);
    expect(missing.runtime.pullImage).toHaveBeenCalledWith(pinned, AUTH, expect.any(Function));
  });

  it('without a registry, a missing image fails the job at once, and nothing is asked of a registry', async () => {
    const t = await node(null, NEW, { registry: false });
    const failure = await failureOf(t.run());
    expect(failure.message).toBe('image not found: menagerie/filemeta:1');
    expect(t.runtime.registryDigest).not.toHaveBeenCalled();
    expect(t.runtime.pullImage).not.toHaveBeenCalled();
  });
});
