import { Client } from 'pg';
import type { DatabaseOptions } from './data-source';

/** The channel the jobs table announces final statuses on (migration 1764600000000). */
export const JOB_ENDED_CHANNEL = 'menagerie_job_ended';
/** The end of a job that identical uploads wait for (migration 1764820000000). */
export const LEADER_ENDED_CHANNEL = 'menagerie_leader_ended';
/** A webhook event was written (migration 1764820000000). */
export const WEBHOOK_EVENT_CHANNEL = 'menagerie_webhook_event';
const CHANNELS = [JOB_ENDED_CHANNEL, LEADER_ENDED_CHANNEL, WEBHOOK_EVENT_CHANNEL] as const;
export type EndingChannel = (typeof CHANNELS)[number];

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
/**
 * How often the listening connection is asked a trivial query, and how long
 * it has to answer: a connection that stopped forwarding without closing (a
 * NAT or firewall that forgot it, a host gone) is found dead within their sum,
 * where TCP keep-alive alone (its OS defaults) would take some two hours.
 */
export const HEARTBEAT = { everyMs: 10_000, answerMs: 10_000 };

export interface JobEnding {
  /** Resolves when the job is announced ended, the listener breaks (read the row again), `ms` pass, or the signal aborts. */
  readonly done: Promise<void>;
  /** Stops waiting; `done` resolves. */
  cancel(): void;
}

/**
 * Hears jobs end, from PostgreSQL's LISTEN on one connection of its own: a
 * request blocked on `?wait` costs a map entry, not a long poll to Temporal,
 * and wakes as soon as the final status is committed. Every API replica
 * listens; a NOTIFY reaches them all. While the connection is down (it
 * reconnects on its own), `listening` is false and callers poll the row.
 * (Not through a pooler in transaction mode: LISTEN needs its session.)
 */
export class JobEndings {
  private client: Client | null = null;
  private ready = false;
  private stopped = false;
  private retryMs = RECONNECT_MIN_MS;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly subscribers = new Map<EndingChannel, Set<(id: string | null) => void>>(CHANNELS.map((c) => [c, new Set()]));

  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: DatabaseOptions,
    private readonly onProblem: (message: string) => void = () => undefined,
    private readonly heartbeatOptions: { everyMs: number; answerMs: number } = HEARTBEAT,
  ) {}

  /** Whether an end would be heard now. */
  get listening(): boolean {
    return this.ready;
  }

  /** Connects and listens; a failure is reported and retried in the background, never thrown. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.ready = false;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
    this.wakeAll();
  }

  /** Registered at once: an end committed after this call is heard, however soon. */
  ended(id: string, ms: number, signal: AbortSignal): JobEnding {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const set = this.waiters.get(id) ?? new Set<() => void>();
    this.waiters.set(id, set);
    const timer = setTimeout(() => settle(), Math.max(0, ms));
    const settle = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', settle);
      set.delete(settle);
      if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
      finish();
    };
    set.add(settle);
    signal.addEventListener('abort', settle, { once: true });
    if (signal.aborted) settle();
    return { done, cancel: settle };
  }

  /**
   * Hears what `channel` announces (by default every job's end):
   * `listener(id)` for each, and `listener(null)` when the connection broke
   * (announcements may have been missed). Answers the unsubscribe.
   */
  subscribe(listener: (id: string | null) => void, channel: EndingChannel = JOB_ENDED_CHANNEL): () => void {
    const set = this.subscribers.get(channel)!;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** How many requests wait now (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  private wake(id: string): void {
    for (const settle of [...(this.waiters.get(id) ?? [])]) settle();
    for (const listener of this.subscribers.get(JOB_ENDED_CHANNEL)!) listener(id);
  }

  /** The connection broke: every waiter reads its row again (an end may have been missed meanwhile). */
  private wakeAll(): void {
    for (const set of [...this.waiters.values()]) for (const settle of [...set]) settle();
    for (const set of this.subscribers.values()) for (const listener of set) listener(null);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      host: this.options.host,
      port: this.options.port,
      user: this.options.user,
      password: this.options.password,
      database: this.options.database,
      connectionTimeoutMillis: 5000,
      // Behind the heartbeat, the kernel's own probes start after 10 s idle rather than its default 2 h.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    this.client = client;
    client.on('notification', (n) => {
      if (!n.payload) return;
      if (n.channel === JOB_ENDED_CHANNEL) this.wake(n.payload);
      else for (const listener of this.subscribers.get(n.channel as EndingChannel) ?? []) listener(n.payload);
    });
    const broken = (why: string) => {
      if (this.client !== client) return;
      this.client = null;
      this.ready = false;
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.heartbeat = null;
      this.wakeAll();
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.onProblem(`not listening for jobs' ends (${why}); waiting requests poll until it is back`);
      this.timer = setTimeout(() => void this.connect(), this.retryMs);
      this.retryMs = Math.min(RECONNECT_MAX_MS, this.retryMs * 2);
    };
    client.on('error', (err) => broken(err.message));
    client.on('end', () => broken('the connection closed'));
    try {
      await client.connect();
      for (const channel of CHANNELS) await client.query(`LISTEN ${channel}`);
      if (this.client !== client) return;
      this.ready = true;
      this.retryMs = RECONNECT_MIN_MS;
      this.heartbeat = setInterval(() => void this.beat(client, broken), this.heartbeatOptions.everyMs);
    } catch (err) {
      broken((err as Error).message);
    }
  }

  /** One heartbeat: the connection is taken for broken unless it answers in time. */
  private async beat(client: Client, broken: (why: string) => void): Promise<void> {
    const { answerMs } = this.heartbeatOptions;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), answerMs)));
    try {
      const answer = await Promise.race([client.query('SELECT 1').then(() => 'answered' as const), late]);
      if (answer === 'late') broken(`no answer to a heartbeat within ${answerMs / 1000} s`);
    } catch (err) {
      broken((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
