/** What a relay's round asks of the next one. */
export interface RoundResult {
  /** How long until the next round; the relay's idle interval when absent. */
  pause?: number;
  /** Whether a wake during that pause starts the next round at once (true when absent). */
  wakeable?: boolean;
}

export interface RelayOptions {
  /**
   * One pass over the work that waits in the database. `scan` is true when a
   * full look is due (at the start, and at least every idleMs however often
   * the relay is woken): work no one announced, or that another replica left.
   */
  round(scan: boolean): Promise<RoundResult | void>;
  /** With nothing announced: how often a round runs, each a full scan. */
  idleMs: number;
  /** The longest pause between failed rounds (10 s); the pause doubles from 500 ms. */
  maxBackoffMs?: number;
  /** Told of failed rounds: the first, and every 20th in a row, so that an outage is logged without flooding. */
  failing(failures: number, err: Error): void;
  /** Told when a round succeeds after failed ones. */
  recovered(failures: number): void;
}

/**
 * The one loop behind every outbox of the API (workflow starts, webhook
 * deliveries, followers): work is recorded in the database first and the
 * relay moves it on. A wake (an upload, an announced end) runs a round soon;
 * idle, a round runs every idleMs all the same, for what no one announced; a
 * failed round is retried with a growing pause, and the work waits meanwhile
 * where it is. Rounds never overlap: a wake during one runs another after it.
 */
export class Relay {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private wakeable = true;
  private failures = 0;
  private lastScan = -Infinity;
  private stopped = false;

  constructor(private readonly options: RelayOptions) {}

  /** Runs a round after `ms` (sooner than a round already planned), or right after the one under way. */
  wake(ms = 0): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer && !this.wakeable) return;
    this.schedule(ms);
  }

  /** Like wake, with the next round a full scan: announcements may have been missed (a broken LISTEN). */
  rescan(ms = 0): void {
    this.lastScan = -Infinity;
    this.wake(ms);
  }

  /** Stops planning rounds, and waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    const due = Date.now() + ms;
    if (this.timer) {
      if (due >= this.due) return;
      clearTimeout(this.timer);
    }
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.run();
    }, ms);
  }

  private async run(): Promise<void> {
    const { idleMs, maxBackoffMs = 10_000 } = this.options;
    const scan = Date.now() - this.lastScan >= idleMs;
    if (scan) this.lastScan = Date.now();
    let pause: number;
    let wakeable: boolean;
    try {
      const result = await this.options.round(scan);
      if (this.failures) this.options.recovered(this.failures);
      this.failures = 0;
      pause = result?.pause ?? idleMs;
      wakeable = result?.wakeable ?? true;
    } catch (err) {
      this.failures++;
      if (this.failures === 1 || this.failures % 20 === 0) this.options.failing(this.failures, err as Error);
      pause = Math.min(maxBackoffMs, 250 * 2 ** Math.min(this.failures, 6));
      // The work waits in the database: a wake does not cut the backoff short.
      wakeable = false;
    }
    this.running = null;
    if (this.stopped) return;
    const now = this.again && wakeable;
    this.again = false;
    this.wakeable = wakeable;
    this.schedule(now ? 0 : pause);
  }
}
