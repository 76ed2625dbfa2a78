import { collectDefaultMetrics, Registry } from 'prom-client';
import { MenagerieError, type JobStatus } from '@menagerie/core';
import {
  cacheLookups,
  httpDuration,
  httpRequests,
  jobsEnded,
  jobsQueued,
  jobsRunning,
  queueWait,
  runDuration,
  runningContainers,
  scratchBytes,
  uploadBytes,
  uploadDuration,
  uploadRefusals,
  webhookDeliveries,
  type CacheOutcome,
  type UploadEndpoint,
  type WebhookOutcome,
} from './definitions';

/**
 * A registry of its own per process role (never prom-client's global one):
 * tests run an API and workers in one process, each with its own metrics.
 * Node's process metrics (CPU, memory, event loop, GC) come with it.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The code a refusal is counted under: the answer's "error" for a MenagerieError, INTERNAL for anything else. */
export function refusalCode(err: unknown): string {
  return err instanceof MenagerieError ? err.code : 'INTERNAL';
}

const seconds = (startedAt: bigint) => Number(process.hrtime.bigint() - startedAt) / 1e9;

export interface ApiMetricSources {
  /** The engines configured now: each shows in the gauges, 0 when it has no jobs. */
  engines(): string[];
  /** Queued and running jobs by engine, deployment-wide (engines without any may be absent). */
  activeJobs(): Promise<Map<string, { queued: number; running: number }>>;
}

/** The API's metrics. */
export class ApiMetrics {
  readonly registry = createRegistry();
  private readonly requests = httpRequests(this.registry);
  private readonly latency = httpDuration(this.registry);
  private readonly bytes = uploadBytes(this.registry);
  private readonly uploads = uploadDuration(this.registry);
  private readonly refusals = uploadRefusals(this.registry);
  private readonly lookups = cacheLookups(this.registry);
  private readonly ended = jobsEnded(this.registry);
  /** One database read per scrape, for both gauges (the registry collects them side by side). */
  private active: Promise<Map<string, { queued: number; running: number }> | null> | null = null;

  constructor(private readonly sources: ApiMetricSources) {
    jobsQueued(this.registry, async (gauge) => this.fill(gauge, 'queued'));
    jobsRunning(this.registry, async (gauge) => this.fill(gauge, 'running'));
  }

  private async fill(
    gauge: { reset(): void; set(labels: { engine: string }, value: number): void },
    status: 'queued' | 'running',
  ): Promise<void> {
    this.active ??= this.sources
      .activeJobs()
      .catch(() => null)
      .finally(() => setImmediate(() => (this.active = null)));
    const counts = await this.active;
    gauge.reset();
    // A database that doesn't answer leaves the gauges without values (unknown), rather than a false 0.
    if (!counts) return;
    for (const engine of this.sources.engines()) gauge.set({ engine }, 0);
    for (const [engine, c] of counts) gauge.set({ engine }, c[status]);
  }

  /** An answered request; `route` from routeLabel, `status` the status code or "aborted". */
  httpAnswered(method: string, route: string, status: string, startedAt: bigint): void {
    this.requests.inc({ method, route, status });
    this.latency.observe({ method, route }, seconds(startedAt));
  }

  /**
   * Runs an upload, counting it: its bytes and time when it is accepted, its
   * refusal code and time when it throws (the error goes on unchanged).
   */
  async timeUpload<T>(endpoint: UploadEndpoint, upload: () => Promise<T>, bytesOf: (accepted: T) => number): Promise<T> {
    const startedAt = process.hrtime.bigint();
    try {
      const accepted = await upload();
      this.bytes.inc({ endpoint }, bytesOf(accepted));
      this.uploads.observe({ endpoint, outcome: 'accepted' }, seconds(startedAt));
      return accepted;
    } catch (err) {
      this.refusals.inc({ endpoint, code: refusalCode(err) });
      this.uploads.observe({ endpoint, outcome: 'refused' }, seconds(startedAt));
      throw err;
    }
  }

  /** A lookup at upload, once the key was computed. */
  cacheLookup(engine: string, outcome: CacheOutcome): void {
    this.lookups.inc({ engine, at: 'upload', outcome });
  }

  /** A final status this API wrote (a hit recorded at upload, a follower completed, a job cancelled before it started). */
  jobEnded(engine: string, status: JobStatus): void {
    this.ended.inc({ engine, status });
  }

  /** The text format, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A final status a worker wrote: the first write of the job's. */
export interface EndedJob {
  engine: string;
  status: JobStatus;
  /** Its row's creation to its container's start; null when no container started (a cache hit, a failure before). */
  queuedSeconds: number | null;
}

export interface WorkerMetricSources {
  /** This node's name (the jobs it runs record it). */
  node: string;
  /** Engine runs under way on this node now. */
  runningContainers(): number;
  /** What this node's job directories use now. */
  scratchBytes(): Promise<number>;
}

/** A worker node's metrics; what its activities report goes through the methods, which RunObserver names. */
export class WorkerMetrics {
  readonly registry = createRegistry();
  private readonly lookups = cacheLookups(this.registry);
  private readonly ended = jobsEnded(this.registry);
  private readonly runs = runDuration(this.registry);
  private readonly waits = queueWait(this.registry);
  private readonly deliveries = webhookDeliveries(this.registry);

  constructor(sources: WorkerMetricSources) {
    const node = sources.node;
    runningContainers(this.registry, (gauge) => gauge.set({ node }, sources.runningContainers()));
    scratchBytes(this.registry, async (gauge) => {
      gauge.reset();
      const bytes = await sources.scratchBytes().catch(() => null);
      if (bytes !== null) gauge.set({ node }, bytes);
    });
  }

  /** The worker's re-check before a run. */
  cacheLookup(engine: string, outcome: CacheOutcome): void {
    this.lookups.inc({ engine, at: 'worker', outcome });
  }

  /** A container ran (whatever its outcome) for this long. */
  containerRan(engine: string, seconds: number): void {
    this.runs.observe({ engine }, seconds);
  }

  jobEnded(job: EndedJob): void {
    this.ended.inc({ engine: job.engine, status: job.status });
    if (job.queuedSeconds !== null) this.waits.observe({ engine: job.engine }, Math.max(0, job.queuedSeconds));
  }

  /** One webhook delivery attempt's outcome. */
  webhookDelivery(outcome: WebhookOutcome): void {
    this.deliveries.inc({ outcome });
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
