import pino from 'pino';
import { exitOnConfigError, loadConfig, type MenagerieConfig } from '@menagerie/config';
import { installRuntime, startWorkers } from './worker';

async function main(): Promise<void> {
  const logger = pino({ name: 'menagerie-worker', level: process.env.LOG_LEVEL ?? 'info' });
  let config: MenagerieConfig;
  try {
    config = loadConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  installRuntime(logger);
  const handle = await startWorkers(config, logger);
  logger.info({ engines: config.engines.map((e) => e.config.name), storage: config.storageDir }, 'worker ready');
  await handle.done;
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
