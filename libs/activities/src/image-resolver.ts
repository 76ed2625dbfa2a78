import { log, type Context } from '@temporalio/activity';
import { FAILURE_TYPES, type EngineSpec } from '@menagerie/core';
import { isPinned, RegistryError, type ImageInfo, type RegistryAuth } from '@menagerie/runtime';
import type { RunDeps } from './deps';
import { fail } from './run-failures';

/** Pulls the image (a registry is configured); a failed pull fails the job once, without retries. */
async function pull(deps: RunDeps, ref: string, auth: RegistryAuth | null, ctx: Context): Promise<ImageInfo> {
  log.info('pulling image', { image: ref });
  try {
    await deps.runtime.pullImage(ref, auth, (line) => {
      ctx.heartbeat();
      log.info('pull progress', { image: ref, progress: line });
    });
  } catch (err) {
    fail(`image not found: ${ref} (pull failed: ${err instanceof Error ? err.message : String(err)})`, FAILURE_TYPES.imageNotFound);
  }
  const image = await deps.runtime.inspectImage(ref);
  if (!image) fail(`image not found: ${ref} (not present after pull)`, FAILURE_TYPES.imageNotFound);
  return image;
}

/**
 * The image a job runs, as this node's daemon has it: the one rule of which version runs.
 * - No registry: the local image, else the job fails (image not found).
 * - Pinned (`image@sha256:...`): the local copy of that version, else it is pulled.
 * - A tag, with a registry: the registry says what the tag is now, so a version pushed
 *   under the same tag runs at the next job. A local image of that digest runs; otherwise
 *   it is pulled. While the registry refuses or does not answer, an image present here
 *   keeps working; a missing one fails the job with the registry's reason.
 */
export async function resolveImage(deps: RunDeps, engine: EngineSpec, ctx: Context): Promise<ImageInfo> {
  const ref = engine.image;
  const local = await deps.runtime.inspectImage(ref);
  const registry = deps.registry;
  if (!registry) return local ?? fail(`image not found: ${ref}`, FAILURE_TYPES.imageNotFound);
  if (isPinned(ref)) return local ?? (await pull(deps, ref, registry.auth, ctx));
  let wanted: string;
  try {
    wanted = await deps.runtime.registryDigest(ref, registry.auth);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err; // this node's daemon not answering: the attempt is retried
    if (local) {
      log.warn('the registry did not say what the tag is now; running the image present here', {
        image: ref,
        digest: local.digest,
        error: err.message,
      });
      return local;
    }
    return fail(`image not found: ${ref}: ${err.message}`, FAILURE_TYPES.imageNotFound);
  }
  return local?.digest === wanted ? local : await pull(deps, ref, registry.auth, ctx);
}
