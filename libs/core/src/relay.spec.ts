import { Relay, type RelayOptions } from './relay';

describe('Relay', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** A relay whose rounds are recorded (whether each was a scan) and answer `answers` in turn. */
  function relayOf(answers: Array<Awaited<ReturnType<RelayOptions['round']>> | Error> = [], idleMs = 5000) {
    const rounds: boolean[] = [];
    const failing: number[] = [];
    const recovered: number[] = [];
    const relay = new Relay({
      idleMs,
      round: async (scan) => {
        rounds.push(scan);
        const answer = answers.shift();
        if (answer instanceof Error) throw answer;
        return answer;
      },
      failing: (n) => failing.push(n),
      recovered: (n) => recovered.push(n),
    });
    return { relay, rounds, failing, recovered };
  }

  it('runs a scan at once, then one every idle interval', async () => {
    const { relay, rounds } = relayOf();
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(rounds).toEqual([true]);
    await jest.advanceTimersByTimeAsync(4999);
    expect(rounds).toEqual([true]);
    await jest.advanceTimersByTimeAsync(1);
    expect(rounds).toEqual([true, true]);
    await relay.stop();
  });

  it('runs a round soon when woken, a scan only once the idle interval has passed', async () => {
    const { relay, rounds } = relayOf();
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    relay.wake(20);
    await jest.advanceTimersByTimeAsync(20);
    expect(rounds).toEqual([true, false]);
    // Woken every second: a full scan still comes once the idle interval has passed since the last.
    for (let i = 0; i < 5; i++) {
      relay.wake(1000);
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(rounds.filter(Boolean)).toHaveLength(2);
    await relay.stop();
  });

  it('runs again right after a round during which it was woken, never two at once', async () => {
    let release!: () => void;
    let inFlight = 0;
    let most = 0;
    const rounds: number[] = [];
    const relay = new Relay({
      idleMs: 5000,
      round: async () => {
        rounds.push(Date.now());
        inFlight++;
        most = Math.max(most, inFlight);
        if (rounds.length === 1) await new Promise<void>((r) => (release = r));
        inFlight--;
      },
      failing: () => undefined,
      recovered: () => undefined,
    });
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    relay.wake();
    relay.wake();
    await jest.advanceTimersByTimeAsync(100);
    expect(rounds).toHaveLength(1);
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(rounds).toHaveLength(2);
    expect(most).toBe(1);
    await relay.stop();
  });

  it('holds a pause the round asked for against wakes when it said so', async () => {
    const { relay, rounds } = relayOf([{ pause: 250, wakeable: false }, { pause: 250 }]);
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    relay.wake();
    await jest.advanceTimersByTimeAsync(249);
    expect(rounds).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(rounds).toHaveLength(2);
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(rounds).toHaveLength(3);
    await relay.stop();
  });

  it('backs off on failures, says so on the first and every 20th, and when it recovers', async () => {
    const failure = new Error('database down');
    const { relay, rounds, failing, recovered } = relayOf([...Array(21).fill(failure)]);
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(failing).toEqual([1]);
    await jest.advanceTimersByTimeAsync(499);
    expect(rounds).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(rounds).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(20 * 10_000);
    expect(failing).toEqual([1, 20]);
    expect(recovered).toEqual([21]);
    await relay.stop();
  });

  it('makes the next round a scan when asked to rescan', async () => {
    const { relay, rounds } = relayOf();
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    relay.rescan(20);
    await jest.advanceTimersByTimeAsync(20);
    expect(rounds).toEqual([true, true]);
    await relay.stop();
  });

  it('runs no round once stopped', async () => {
    const { relay, rounds } = relayOf();
    relay.wake(100);
    await relay.stop();
    relay.wake();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(rounds).toEqual([]);
  });
});
