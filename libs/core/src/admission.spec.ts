import { admit, ADMIT_TRIES, EXACT_TOTAL_LIMIT, pageTotal } from './admission';

describe('admission', () => {
  const steps = (lead: Array<string | null>, follow: Array<string | null>) => {
    const calls: string[] = [];
    return {
      calls,
      lead: async () => (calls.push('lead'), lead.shift() ?? null),
      follow: async () => (calls.push('follow'), follow.shift() ?? null),
      alone: async () => (calls.push('alone'), 'alone'),
    };
  };

  it('leads when no identical job is active', async () => {
    const s = steps(['led'], []);
    expect(await admit(s)).toBe('led');
    expect(s.calls).toEqual(['lead']);
  });

  it('follows the identical active job', async () => {
    const s = steps([null], ['followed']);
    expect(await admit(s)).toBe('followed');
    expect(s.calls).toEqual(['lead', 'follow']);
  });

  it('tries again when the job it would follow ended meanwhile', async () => {
    const s = steps([null, 'led'], [null]);
    expect(await admit(s)).toBe('led');
    expect(s.calls).toEqual(['lead', 'follow', 'lead']);
  });

  it(`runs on its own after ${ADMIT_TRIES} rounds of identical jobs ending under it`, async () => {
    const s = steps([], []);
    expect(await admit(s)).toBe('alone');
    expect(s.calls).toEqual([...Array(ADMIT_TRIES).fill(['lead', 'follow']).flat(), 'alone']);
  });
});

describe('pageTotal', () => {
  it('is exact up to the limit, without asking the planner', async () => {
    const estimate = jest.fn(async () => 5);
    expect(await pageTotal(EXACT_TOTAL_LIMIT, estimate)).toEqual({ total: EXACT_TOTAL_LIMIT, exact: true });
    expect(estimate).not.toHaveBeenCalled();
  });

  it("is the planner's estimate above it, never below what the capped count saw", async () => {
    expect(await pageTotal(EXACT_TOTAL_LIMIT + 1, async () => 52_000.4)).toEqual({ total: 52_000, exact: false });
    expect(await pageTotal(EXACT_TOTAL_LIMIT + 1, async () => 10)).toEqual({ total: EXACT_TOTAL_LIMIT + 1, exact: false });
  });
});
