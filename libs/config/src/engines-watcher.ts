import { unwatchFile, watchFile } from 'node:fs';
import type { Engine } from '@menagerie/engines';
import { loadEnginesFor, type MenagerieConfig } from './config';

export interface EnginesWatcher {
  stop(): void;
}

/**
 * Re-reads engines.json whenever it changes, so engines can be added,
 * removed or retagged without a restart. A file that no longer validates is
 * reported and ignored: the last good engines stay in force.
 */
export function watchEngines(
  config: MenagerieConfig,
  onChange: (engines: Engine[]) => void | Promise<void>,
  onError: (err: unknown) => void,
  intervalMs = 1000,
): EnginesWatcher {
  const file = config.files.engines;
  let current = JSON.stringify(config.engines.map((e) => e.config));
  const listener = () => {
    try {
      const engines = loadEnginesFor(config.settings, file);
      const next = JSON.stringify(engines.map((e) => e.config));
      if (next === current) return;
      current = next;
      config.engines = engines;
      Promise.resolve(onChange(engines)).catch(onError);
    } catch (err) {
      onError(err);
    }
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return { stop: () => unwatchFile(file, listener) };
}
