import { settledWithin } from './bounded';

describe('settledWithin', () => {
  it('is true for work that resolves or rejects in time, and never throws', async () => {
    await expect(settledWithin(Promise.resolve(1), 1000)).resolves.toBe(true);
    await expect(settledWithin(Promise.reject(new Error('no')), 1000)).resolves.toBe(true);
    await expect(settledWithin(undefined, 1000)).resolves.toBe(true);
  });

  it('is false when the bound comes first', async () => {
    await expect(settledWithin(new Promise(() => undefined), 20)).resolves.toBe(false);
  });
});
