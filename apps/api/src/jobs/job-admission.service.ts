import { Inject, Injectable, Logger } from '@nestjs/common';
import { bundleDigestsOf, workflowIdFor } from '@menagerie/core';
import type { JobRepository, NewJob } from '@menagerie/db';
import { cachedSince, cacheKey, cacheTtlOf, configuredEnv, specWithBundles, type Engine } from '@menagerie/engines';
import { shareResult, type BlobStore } from '@menagerie/storage';
import { BLOB_STORE, JOB_REPOSITORY } from '../common/tokens';
import { BundleVersions } from '../bundles/bundle-versions.service';
import { NodesService } from '../nodes/nodes.service';
import { ApiMetrics } from '@menagerie/metrics';

/** What an upload stored: the facts every job on it records. */
export interface StoredInput {
  originalName: string;
  size: number;
  sha256: string;
  /** Detected from the bytes (detectType). */
  mime: string;
}

export interface AdmitOptions {
  jobId: string;
  force: boolean;
  submissionId?: string;
  /** Whose stored input the job reads (a submission's); absent: its own. */
  inputFrom?: string;
}

/**
 * Decides how a new job starts, before its row is written: served from the
 * cache (the cached result and log shared to the new job), or queued with the
 * cache key that lets an identical queued or running job lead it.
 *
 * The key needs the image digest, which only a worker knows for sure. The API
 * uses the digest the live nodes serving the engine last reported, when they
 * all agree on one; the worker computes the key again from the digest it
 * resolves, re-checks the cache before it runs anything, and records the key
 * of what really ran. So a hit here costs no workflow and no container, and a
 * digest that changed since the nodes reported is never served stale.
 */
@Injectable()
export class JobAdmission {
  private readonly logger = new Logger(JobAdmission.name);

  constructor(
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    private readonly nodes: NodesService,
    private readonly metrics: ApiMetrics,
    private readonly bundles: BundleVersions,
  ) {}

  /** The job's row to insert (a hit's blobs are already shared: on a failure, removing the job's blobs undoes it). */
  async prepare(engine: Engine, input: StoredInput, options: AdmitOptions): Promise<NewJob> {
    // The data bundles' current versions, now: the job's row, its workflow and every attempt of it keep them.
    const spec = specWithBundles(engine, await this.bundles.digestsFor(engine));
    const job: NewJob = {
      id: options.jobId,
      engine: engine.config.name,
      originalName: input.originalName,
      size: input.size,
      sha256: input.sha256,
      inputMime: input.mime,
      image: engine.config.image,
      workflowId: workflowIdFor(options.jobId),
      forced: options.force,
      submissionId: options.submissionId ?? null,
      inputFrom: options.inputFrom ?? null,
      cacheKey: null,
      data: bundleDigestsOf(spec),
    };
    const ttl = cacheTtlOf(engine, options.force);
    if (!ttl) return job;
    const digest = await this.agreedDigest(engine);
    if (!digest) return job;
    job.cacheKey = cacheKey({ spec, env: configuredEnv(engine), imageDigest: digest, sha256: input.sha256 });
    const hit = await this.jobs.findCached(job.cacheKey, cachedSince(ttl));
    const resultName = hit && (await shareResult(this.store, hit, job.id, input.originalName, job.engine));
    if (hit && resultName) {
      job.hit = { ...hit, resultName };
      this.logger.log({ jobId: job.id, engine: job.engine, cachedFrom: hit.id }, 'served from the cache');
    }
    this.metrics.cacheLookup(job.engine, job.hit ? 'hit' : 'miss');
    return job;
  }

  /** The digest every live node serving the engine reported; null when none did, or they differ (the worker decides then). */
  private async agreedDigest(engine: Engine): Promise<string | null> {
    const serving = await this.nodes.serving(engine.config.name).catch(() => null);
    const digests = new Set(serving?.nodes.map((n) => n.digest));
    const [digest] = digests;
    return digests.size === 1 && digest ? digest : null;
  }
}
