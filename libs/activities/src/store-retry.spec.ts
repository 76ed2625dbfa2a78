import { MockActivityEnvironment } from '@temporalio/testing';
import { boundedCleanup } from './store-retry';

const JOB = '6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a';

describe('boundedCleanup', () => {
  it('logs a cleanup that fails, and neither retries it nor fails the step', async () => {
    const step = jest.fn(async () => Promise.reject(new Error('EBUSY: device or resource busy')));
    await expect(new MockActivityEnvironment().run(() => boundedCleanup(1_000, 'the job directory', step, JOB))).resolves.toBeUndefined();
    expect(step).toHaveBeenCalledTimes(1);
  });

  it('gives up on a cleanup that hangs once its time is up', async () => {
    const never = () => new Promise(() => undefined); // a umount that never returns
    await expect(new MockActivityEnvironment().run(() => boundedCleanup(50, 'the job directory', never, JOB))).resolves.toBeUndefined();
  });
});
