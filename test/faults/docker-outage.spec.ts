import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob } from '../support/http';
import { until } from '../support/until';
import { DockerSocketProxy } from '../support/fault-services';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** The worker reaches Docker through a socket the test can take away (the API has none). */
describe('Docker daemon unavailable', () => {
  const proxy = new DockerSocketProxy();
  let sys: System;

  beforeAll(async () => {
    await proxy.up();
    const enginesFile = writeEnginesFile([{ name: 'copy', cmd: ['cp', '/var/data/input', '/var/data/result'] }]);
    sys = await startSystem({ enginesFile, settings: { docker: { socketPath: proxy.path } } });
  });
  afterAll(async () => {
    await sys?.stop();
    await proxy.down();
  });

  it('fails jobs with a clear reason and says so on /engines, then recovers', async () => {
    const before = await queueBytes(sys.baseUrl, 'copy', 'daemon up');
    expect((await waitForJob(sys.baseUrl, before.jobid, 60_000)).status).toBe('completed');

    await proxy.down();

    // The node says so at its next report; the API itself is healthy (it needs no Docker).
    const engine = await until('the node to report its daemon gone', async () => {
      const { engines } = await body(await fetch(`${sys.baseUrl}/engines`));
      const copy = engines.find((e: { name: string }) => e.name === 'copy');
      return copy.available ? undefined : copy;
    });
    expect(engine.unavailableReason).toMatch(/Docker daemon does not answer at .*docker\.sock/);
    expect(engine.nodes.map((n: { name: string }) => n.name)).toEqual([sys.config.node.name]);
    expect((await fetch(`${sys.baseUrl}/health`)).status).toBe(200);

    // Uploads are still taken (the node still takes the engine's jobs); the job fails once its retries are spent.
    const during = await queueBytes(sys.baseUrl, 'copy', 'daemon down');
    const failed = await waitForJob(sys.baseUrl, during.jobid, 120_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/Docker daemon does not answer at .*docker\.sock.*is dockerd running\?/);
    expect(failed.result).toBeNull();

    await proxy.up();
    const after = await queueBytes(sys.baseUrl, 'copy', 'daemon back');
    expect((await waitForJob(sys.baseUrl, after.jobid, 60_000)).status).toBe('completed');
    expect(await (await fetch(`${sys.baseUrl}/link/${after.jobid}`)).text()).toBe('daemon back');
    expect(await jobContainers(sys.docker, { deployment: sys.deployment })).toEqual([]);
  });
});
