import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { RateLimitRepository } from '@menagerie/db';
import { ApiKeys } from './access';
import { DATA_SOURCE } from './tokens';

const EVERY_MS = 60_000;

/** Removes the rate limit's ended windows once a minute (every replica may; the DELETE is idempotent). */
@Injectable()
export class RateLimitPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RateLimitPruner.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly keys: ApiKeys,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.keys.enabled) return;
    const windows = new RateLimitRepository(this.dataSource);
    this.timer = setInterval(
      () => void windows.prune().catch((err: unknown) => this.logger.warn(`could not prune rate limit windows: ${String(err)}`)),
      EVERY_MS,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
