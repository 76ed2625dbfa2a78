import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { defaultPolicy } from '@menagerie/engines';
import { DEPLOYMENT_LABEL, DockerRuntime, JOB_LABEL, type RunRequest } from '@menagerie/runtime';
import { Readable } from 'node:stream';
import { bundleTar } from '../support/bundles';
import { canMount, newScratch } from '../support/scratch';
import { until } from '../support/until';
import { tempDir } from '../support/temp-dir';

jest.setTimeout(120_000);

/** DockerRuntime on the real daemon. */
describe('DockerRuntime', () => {
  const deployment = `test-runtime-${process.pid}`;
  let hostDir: string;

  beforeAll(() => {
    hostDir = tempDir('menagerie-runtime-');
  });

  async function request(runtime: DockerRuntime, cmd: string[]): Promise<RunRequest> {
    const image = await runtime.inspectImage('menagerie/filemeta:stable');
    if (!image) throw new Error('menagerie/filemeta:stable is not built; run scripts/build-images.sh');
    return {
      jobId: randomUUID(),
      engine: 'test',
      image,
      cmd,
      user: '1000',
      env: [],
      mountpoint: '/var/data',
      hostDir,
      policy: defaultPolicy(),
      // Far beyond the test's own timeout: only the cancellation can end the run in time.
      timeoutMs: 600_000,
      logLimitBytes: 4096,
    };
  }

  it('stops a container whose cancel arrived while it was being started', async () => {
    const docker = new Docker();
    const cancel = new AbortController();
    const create = docker.createContainer.bind(docker);
    // The cancel lands inside start(), before the daemon has answered it.
    docker.createContainer = (async (options: Docker.ContainerCreateOptions) => {
      const container = await create(options);
      const start = container.start.bind(container);
      container.start = (async () => {
        cancel.abort();
        return start();
      }) as typeof container.start;
      return container;
    }) as typeof docker.createContainer;
    const runtime = new DockerRuntime({ docker, deployment });
    const req = await request(runtime, ['sleep', '600']);

    const outcome = await runtime.run(req, cancel.signal);

    expect({ cancelled: outcome.cancelled, timedOut: outcome.timedOut, exitCode: outcome.exitCode }).toEqual({
      cancelled: true,
      timedOut: false,
      exitCode: null,
    });
    expect(await runtime.listJobContainers(req.jobId)).toEqual([]);
  });

  it("removes a job's container from before deployment labels, and never another deployment's", async () => {
    const runtime = new DockerRuntime({ docker: new Docker(), deployment });
    const jobId = randomUUID();
    const run = (labels: string[]) =>
      execFileSync('docker', [
        'run',
        '-d',
        '--network',
        'none',
        ...labels.flatMap((l) => ['--label', l]),
        'menagerie/filemeta:stable',
        'sleep',
        '600',
      ])
        .toString()
        .trim();
    const legacy = run([`${JOB_LABEL}=${jobId}`]);
    const foreign = run([`${JOB_LABEL}=${jobId}`, `${DEPLOYMENT_LABEL}=${deployment}-other`]);
    try {
      expect(await runtime.removeJobContainers(jobId)).toEqual([legacy]);
      expect(
        execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${JOB_LABEL}=${jobId}`])
          .toString()
          .trim(),
      ).toBe(foreign);
    } finally {
      execFileSync('docker', ['rm', '-f', legacy, foreign], { stdio: 'ignore' });
    }
  });

  it('labels its containers with its deployment, and lists and removes only its own', async () => {
    const docker = new Docker();
    const mine = new DockerRuntime({ docker, deployment });
    const theirs = new DockerRuntime({ docker, deployment: `${deployment}-other` });
    const req = await request(theirs, ['sleep', '600']);
    const stop = new AbortController();
    const running = theirs.run(req, stop.signal);
    try {
      const listed = await until('its container running', async () => {
        const found = await theirs.listJobContainers(req.jobId);
        return found.some((c) => c.state === 'running') ? found : undefined;
      });
      const info = await docker.getContainer(listed[0].id).inspect();
      expect(info.Config.Labels[DEPLOYMENT_LABEL]).toBe(`${deployment}-other`);

      expect(await mine.listJobContainers()).toEqual([]);
      expect(await mine.listJobContainers(req.jobId)).toEqual([]);
      expect(await mine.removeJobContainers(req.jobId)).toEqual([]);
      expect((await docker.getContainer(listed[0].id).inspect()).State.Running).toBe(true);
    } finally {
      stop.abort();
      await running;
    }
  });

  describe("a data bundle's mount, as the engine sees it (/proc/self/mountinfo in the container)", () => {
    /** The options of the container's mount at `target`, and whether the engine could write there. */
    async function seenAt(runtime: DockerRuntime, mount: NonNullable<RunRequest['dataMounts']>[number]) {
      const req = await request(runtime, [
        'sh',
        '-c',
        `awk '$5 == "${mount.target}" { print $6 }' /proc/self/mountinfo; cat ${mount.target}/a.yar; touch ${mount.target}/new 2>/dev/null && echo wrote`,
      ]);
      const outcome = await runtime.run({ ...req, dataMounts: [mount] }, new AbortController().signal);
      const [options, ...rest] = outcome.log.toString().trim().split('\n');
      return { options: options.split(','), rest };
    }

    (canMount ? it : it.skip)(
      "keeps a sealed copy ro, nosuid, nodev and noexec (bound without Docker's ro, which runc would remount with ro alone)",
      async () => {
        const scratch = await newScratch({ filesystem: 'loop', limitBytes: 16 * 1024 ** 2, spares: 0 });
        try {
          const { tar, digest } = await bundleTar({ 'a.yar': 'rule a' });
          const held = await scratch.bundles.hold(digest, async () => Readable.from([tar]));
          expect(held.sealed).toBe(true);
          const runtime = new DockerRuntime({ docker: new Docker(), deployment });
          const seen = await seenAt(runtime, { hostDir: held.hostDir, target: '/rules', sealed: true });
          expect(seen.options).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
          expect(seen.rest).toEqual(['rule a']);
          held.release();
        } finally {
          await scratch.bundles.removeAll();
          await scratch.close();
        }
      },
    );

    it('binds any other copy read-only', async () => {
      const scratch = await newScratch();
      try {
        const { tar, digest } = await bundleTar({ 'a.yar': 'rule a' });
        const held = await scratch.bundles.hold(digest, async () => Readable.from([tar]));
        expect(held.sealed).toBe(false);
        const runtime = new DockerRuntime({ docker: new Docker(), deployment });
        const seen = await seenAt(runtime, { hostDir: held.hostDir, target: '/rules', sealed: false });
        expect(seen.options).toContain('ro');
        expect(seen.rest).toEqual(['rule a']);
        held.release();
      } finally {
        await scratch.close();
      }
    });
  });
});
