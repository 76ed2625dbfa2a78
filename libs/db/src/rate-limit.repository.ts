import type { DataSource } from 'typeorm';

export interface RateWindow {
  /** Requests counted in this window, this one included. */
  count: number;
  /** When the window ends (the database's clock). */
  resetAt: Date;
}

/** The only place that touches the rate_limits table. */
export class RateLimitRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Counts one request of `client` in its window of `windowSeconds` (which
   * starts at the first request after the last one ended), in one statement:
   * an upsert on the client's row, which PostgreSQL serialises per client.
   * Answers the count so far: every replica sees the same.
   */
  async hit(client: string, windowSeconds = 60): Promise<RateWindow> {
    const rows: Array<{ count: number; reset_at: Date }> = await this.dataSource.query(
      `INSERT INTO rate_limits AS r (client, window_start, count) VALUES ($1, now(), 1)
       ON CONFLICT (client) DO UPDATE SET
         window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $2) THEN now() ELSE r.window_start END,
         count = CASE WHEN r.window_start <= now() - make_interval(secs => $2) THEN 1 ELSE r.count + 1 END
       RETURNING count, window_start + make_interval(secs => $2) AS reset_at`,
      [client, windowSeconds],
    );
    return { count: rows[0].count, resetAt: rows[0].reset_at };
  }

  /** Removes windows that ended; answers how many. */
  async prune(windowSeconds = 60): Promise<number> {
    const [, removed]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM rate_limits WHERE window_start <= now() - make_interval(secs => $1)`,
      [windowSeconds],
    );
    return removed;
  }
}
