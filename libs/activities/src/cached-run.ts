import { log } from '@temporalio/activity';
import type { EngineJobInput, JobRun } from '@menagerie/core';
import { cachedSince, cacheKey } from '@menagerie/engines';
import type { ImageInfo } from '@menagerie/runtime';
import { shareResult } from '@menagerie/storage';
import type { RunDeps } from './deps';

/**
 * The cache's re-check, with the digest this node resolved (the API's
 * lookup used the one the nodes reported, when they agreed): a completed run
 * of the same key within the TTL is shared to this job instead of running.
 */
export async function cachedRun(deps: RunDeps, input: EngineJobInput, key: string, originalName: string): Promise<JobRun | null> {
  const hit = await deps.jobs.findCached(key, cachedSince(input.cacheTtlSeconds ?? 0));
  const resultName = hit && (await shareResult(deps.blobs, hit, input.jobId, originalName, input.engine.name));
  if (!hit || !resultName) return null;
  log.info('served from the cache; no container ran', { jobId: input.jobId, cachedFrom: hit.id });
  return {
    exitCode: hit.exitCode ?? 0,
    imageDigest: hit.imageDigest,
    startedAt: null,
    logTail: hit.logTail ?? '',
    node: deps.node,
    result: {
      name: resultName,
      size: hit.resultSize ?? 0,
      mime: hit.resultMime ?? 'application/octet-stream',
    },
    cacheKey: key,
    cachedFrom: hit.id,
  };
}

/** The cache key of what this run would run; null without the input's sha256 (a workflow from before the cache whose row is gone). */
export async function keyFor(deps: RunDeps, input: EngineJobInput, env: readonly string[], image: ImageInfo): Promise<string | null> {
  const sha256 = input.sha256 ?? (await deps.jobs.findById(input.jobId))?.sha256;
  return sha256 ? cacheKey({ spec: input.engine, env, imageDigest: image.digest, sha256 }) : null;
}
