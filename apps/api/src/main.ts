import 'reflect-metadata';
import { loadConfigOrExit } from '@menagerie/config';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createApp(config);
  await app.listen(config.settings.api.port, config.settings.api.host);
  process.stdout.write(`API listening on ${config.settings.api.publicUrl}\n`);
}

main().catch((err) => {
  process.stderr.write(`api failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
