import { createHash } from 'node:crypto';
import type { EngineSpec } from '@menagerie/core';

/** Bumped whenever what goes into a key changes: every earlier key then misses. */
const KEY_VERSION = 1;

export interface CacheKeyInput {
  /** The spec a job snapshots (environment names only). */
  spec: EngineSpec;
  /** The engine's environment with its values (NAME=value), as the run gets it. */
  env: readonly string[];
  /** The digest the image resolves to: what really runs. */
  imageDigest: string;
  /** The input's sha256. */
  sha256: string;
}

/**
 * The result cache's key: one sha256 over the engine's name, its full
 * effective specification (image reference and digest, cmd, user, runflags,
 * environment values, mountpoint, inputfilename, timeout, and the version and
 * mount point of each data bundle) and the input's sha256. Anything that
 * could change the output changes the key. The one rule, for the API's
 * lookup and the worker's re-check alike. Environment values enter only
 * through the hash, which is all the database keeps.
 *
 * Bundles enter only for an engine that has some: every other engine keeps
 * the keys it had, so KEY_VERSION stays (an engine with bundles had none to
 * mount before them, and its earlier runs rightly miss).
 */
export function cacheKey({ spec, env, imageDigest, sha256 }: CacheKeyInput): string {
  const material = {
    v: KEY_VERSION,
    name: spec.name,
    image: spec.image,
    imageDigest,
    cmd: spec.cmd,
    user: spec.user,
    runflags: spec.runflags,
    env: [...env].sort(),
    mountpoint: spec.mountpoint,
    inputfilename: spec.inputfilename,
    timeout: spec.timeout,
    sha256,
    ...(spec.data && Object.keys(spec.data).length ? { data: bundleMaterial(spec.data) } : {}),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

/** The bundles in name order, each as [name, target, digest]: the key does not depend on how engines.json ordered them. */
function bundleMaterial(data: NonNullable<EngineSpec['data']>): Array<[string, string, string | null]> {
  return Object.keys(data)
    .sort()
    .map((name) => [name, data[name].target, data[name].digest]);
}

/**
 * The cache's one eligibility rule: how long ago an identical run may have
 * finished for this job to be served from it, in seconds; 0 when it may not be
 * served at all (the upload forced a run, or the engine caches nothing).
 */
export function cacheTtlOf(engine: { cacheTtl: number }, forced: boolean): number {
  return forced ? 0 : Math.max(0, engine.cacheTtl);
}

/** The oldest finish a run may have to serve a job with this TTL. */
export function cachedSince(ttlSeconds: number, now = Date.now()): Date {
  return new Date(now - ttlSeconds * 1000);
}
