import { callbackKey } from '@menagerie/activities';
import { loadConfigOrExit } from '@menagerie/config';
import { urlUnderPrefix } from '@menagerie/core';

/**
 * Prints the key that signs deliveries to a callback URL (one key per
 * origin, derived from webhooks.callbackSecret): what an operator hands to
 * that receiver's owner. Run where the deployment's default.json is:
 * `bash scripts/webhook-key.sh https://hooks.example.com/menagerie`.
 */
function main(argv: string[]): number {
  const url = argv[0];
  if (!url || argv.length > 1) {
    process.stderr.write('usage: webhook-key <callback URL>\n');
    return 2;
  }
  const { webhooks } = loadConfigOrExit().settings;
  if (!webhooks.callbackSecret) {
    process.stderr.write('webhooks.callbackSecret is not set in default.json: this deployment signs no callbacks\n');
    return 1;
  }
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    process.stderr.write(`not a URL: ${url}\n`);
    return 2;
  }
  if (!webhooks.callbackAllow.some((prefix) => urlUnderPrefix(url, prefix))) {
    process.stderr.write(`note: ${url} is under no prefix of webhooks.callbackAllow, so uploads can't name it yet\n`);
  }
  process.stdout.write(`${callbackKey(webhooks.callbackSecret, url)}\n`);
  process.stderr.write(`the key for callbacks to ${origin} (every path there shares it)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
