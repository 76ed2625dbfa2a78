import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { watchEngines, type EnginesWatcher, type MenagerieConfig } from '@menagerie/config';
import { CONFIG } from '../common/tokens';

/** Keeps the API's engines in line with engines.json, without a restart. */
@Injectable()
export class EnginesReloadService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EnginesReloadService.name);
  private watcher?: EnginesWatcher;

  constructor(@Inject(CONFIG) private readonly config: MenagerieConfig) {}

  onModuleInit(): void {
    this.watcher = watchEngines(
      this.config,
      (engines) => this.logger.log(`engines.json reloaded: ${engines.map((e) => e.config.name).join(', ')}`),
      (err) =>
        this.logger.error(`engines.json reload failed; keeping the previous engines: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  onModuleDestroy(): void {
    this.watcher?.stop();
  }
}
