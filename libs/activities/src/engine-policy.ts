import { FAILURE_TYPES, hostUser, type EngineSpec } from '@menagerie/core';
import { parseRunflags, RunflagError, type ContainerPolicy } from '@menagerie/engines';
import type { RunDeps } from './deps';
import { fail } from './run-failures';

/**
 * Fills in the values of `-e NAME` entries from the worker's configuration:
 * values never travel in workflow inputs (the workflow strips any an old API
 * sent), so an entry that carries one is unknown here.
 */
export function resolveEnv(engine: string, env: readonly string[], configured: readonly string[] | undefined): string[] {
  return env.map((entry) => {
    const value = configured?.find((c) => c.startsWith(`${entry}=`));
    if (value === undefined) {
      fail(
        configured
          ? `engine ${engine}: environment variable ${entry} has no value in this worker's engines.json`
          : `engine ${engine} is not configured on this worker, so the value of its environment variable ${entry} is unknown`,
        FAILURE_TYPES.engineFailed,
      );
    }
    return value;
  });
}

/** The worker re-checks the flags itself: it is the side that runs containers. */
export function policyOf(deps: RunDeps, engine: EngineSpec): { policy: ContainerPolicy; env: string[] } {
  let policy: ContainerPolicy;
  try {
    policy = parseRunflags(engine.runflags, deps.allowRunflags, { user: engine.user });
  } catch (err) {
    if (err instanceof RunflagError) fail(`engine ${engine.name}: ${err.message}`, FAILURE_TYPES.engineFailed);
    throw err;
  }
  return { policy, env: resolveEnv(engine.name, policy.env, deps.engineEnv(engine.name)) };
}

/**
 * Who owns the engine's job directory on the host: its user, remapped when
 * the daemon runs with --userns-remap, unless the engine opts out of the
 * user namespace (--userns=host). A user the namespace does not map fails the job.
 */
export async function ownerOf(deps: RunDeps, engine: EngineSpec): Promise<string> {
  const ns = policyOf(deps, engine).policy.usernsMode === 'host' ? null : await deps.runtime.userNamespace();
  try {
    return hostUser(engine.user, ns);
  } catch (err) {
    return fail(`engine ${engine.name}: ${(err as Error).message}`, FAILURE_TYPES.engineFailed);
  }
}
