import { settledWithin, within } from '@menagerie/core';

const never = () => new Promise<never>(() => undefined);

describe('bounded waits', () => {
  it('within: the work’s value, its own failure, or the late error once the bound passes', async () => {
    await expect(within(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(within(Promise.reject(new Error('refused')), 1000, () => new Error('late'))).rejects.toThrow('refused');
    await expect(within(never(), 20, () => new Error('no answer within 20 ms'))).rejects.toThrow('no answer within 20 ms');
  });

  it('settledWithin: true once the work settles either way, false when the bound comes first', async () => {
    expect(await settledWithin(Promise.resolve(), 1000)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('x')), 1000)).toBe(true);
    expect(await settledWithin(never(), 20)).toBe(false);
  });
});
