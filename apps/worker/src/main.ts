import pino from 'pino';
import { loadConfigOrExit } from '@menagerie/config';
import { installRuntime, startWorkers } from './worker';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = pino({ name: 'menagerie-worker', level: config.settings.logLevel });
  installRuntime(logger, config.settings.metrics);
  const handle = await startWorkers(config, logger);
  logger.info({ node: config.node.name, storage: config.settings.storage.kind, scratch: config.node.scratchDir }, 'worker ready');
  await handle.done;
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
