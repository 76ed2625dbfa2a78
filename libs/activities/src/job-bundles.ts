import type { Context } from '@temporalio/activity';
import { FAILURE_TYPES, type BundleMount, type EngineSpec } from '@menagerie/core';
import type { RunRequest } from '@menagerie/runtime';
import { BundleSyncError, type HeldBundle } from '@menagerie/storage';
import type { RunDeps } from './deps';
import { fail } from './run-failures';
import { withStore } from './store-retry';

/** The bundles a run mounts, held on this node until `release` (the node's sweep leaves them meanwhile). */
export interface HeldBundles {
  mounts: NonNullable<RunRequest['dataMounts']>;
  release(): void;
}

/**
 * Makes each bundle of `bundles` ready on this node at its version (synced
 * from the store, waiting out an outage of it), to mount read-only at its
 * target. A version the store does not have, or whose tar is not it, fails
 * the run for good, naming it.
 */
export async function holdBundles(
  deps: RunDeps,
  ctx: Context,
  engine: string,
  bundles: Readonly<Record<string, BundleMount>>,
): Promise<HeldBundles> {
  const held: Array<HeldBundle & { target: string }> = [];
  const release = () => held.forEach((h) => h.release());
  try {
    for (const [name, { target, digest }] of Object.entries(bundles)) {
      const fetch = async () => {
        const tar = digest && (await deps.blobs.bundles.open(digest));
        return tar ? tar.stream : fail(`engine ${engine}: data bundle ${name} ${digest} is not in the store`, FAILURE_TYPES.engineFailed);
      };
      const bundle = await withStore(deps.storeRetryMs, `fetch data bundle ${name}`, ctx, () => deps.scratch.bundles.hold(digest, fetch));
      held.push({ ...bundle, target });
    }
  } catch (err) {
    release();
    if (err instanceof BundleSyncError) fail(`engine ${engine}: ${err.message}`, FAILURE_TYPES.engineFailed);
    throw err;
  }
  return { mounts: held.map((h) => ({ hostDir: h.hostDir, target: h.target, sealed: h.sealed })), release };
}

/** The bundles of a job's spec (none for an engine without, or a workflow from before them). */
export function bundlesOf(engine: EngineSpec): Readonly<Record<string, BundleMount>> {
  return engine.data ?? {};
}
