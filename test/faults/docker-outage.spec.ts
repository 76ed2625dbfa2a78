import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob } from '../support/http';
import { DockerSocketProxy } from '../support/processes';
import { jobContainers, startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** The API and the worker reach Docker through a socket the test can take away. */
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

  it('fails jobs with a clear reason and says so on /health, then recovers', async () => {
    const before = await queueBytes(sys.baseUrl, 'copy', 'daemon up');
    expect((await waitForJob(sys.baseUrl, before.jobid, 60_000)).status).toBe('completed');

    await proxy.down();

    const health = await fetch(`${sys.baseUrl}/health`);
    expect(health.status).toBe(503);
    const checks = (await body(health)).checks;
    expect(checks.database.ok).toBe(true);
    expect(checks.temporal.ok).toBe(true);
    expect(checks.docker).toMatchObject({ ok: false, error: expect.stringMatching(/Docker daemon does not answer at .*docker\.sock/) });

    // Uploads are still taken (the API doesn't need Docker); the job fails once its retries are spent.
    const during = await queueBytes(sys.baseUrl, 'copy', 'daemon down');
    const failed = await waitForJob(sys.baseUrl, during.jobid, 120_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/Docker daemon does not answer at .*docker\.sock.*is dockerd running\?/);
    expect(failed.result).toBeNull();

    await proxy.up();
    expect((await fetch(`${sys.baseUrl}/health`)).status).toBe(200);
    const after = await queueBytes(sys.baseUrl, 'copy', 'daemon back');
    expect((await waitForJob(sys.baseUrl, after.jobid, 60_000)).status).toBe('completed');
    expect(await (await fetch(`${sys.baseUrl}/link/${after.jobid}`)).text()).toBe('daemon back');
    expect(await jobContainers(sys.docker, { deployment: sys.deployment })).toEqual([]);
  });
});
