import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Relay, workflowIdFor } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { JobOutboxRepository, type UnstartedJob } from '@menagerie/db';
import { cacheTtlOf, specWithBundles, type Engine } from '@menagerie/engines';
import { CONFIG } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';
import { NodesService } from '../nodes/nodes.service';
import { ApiMetrics } from '@menagerie/metrics';

/** Started jobs that may wait per engine slot (engine workers x live nodes), and at least: enough that no slot waits for a start. */
const AHEAD_PER_SLOT = 4;
const MIN_AHEAD = 32;
/** Rows read, and workflows started, per round and engine. */
const BATCH = 64;
const PARALLEL_STARTS = 8;
/** With nothing to start: how often rows another replica (or a crashed run of this one) accepted are looked for. */
const IDLE_MS = 5000;
/** With a backlog but every engine's window full: how often it is checked for room. */
const FULL_MS = 250;

/**
 * Starts the workflows of accepted jobs. An upload only records its row
 * (queued, no run id: the outbox) and wakes this loop, so an upload never
 * waits for Temporal. The backlog waits in PostgreSQL; Temporal gets, per
 * engine, only as many started-but-queued workflows as its slots can soon
 * take, so the dev server's CPU goes to the jobs that run rather than to a
 * burst of starts. A row is marked started after its workflow is; a crash in
 * between leaves it unstarted, and the start repeated on the next round is
 * refused by the workflow id (job-<id>, never reused), so no job runs twice.
 * Every replica runs one; they race harmlessly for the same rows.
 */
@Injectable()
export class JobDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobDispatcher.name);
  private nextUnconfiguredCheck = 0;
  private readonly relay = new Relay({
    idleMs: IDLE_MS,
    round: async () => {
      const { started, backlog } = await this.round();
      // A new upload matters only when nothing waits: while windows are full, only the engines make room.
      return { pause: started ? 0 : backlog ? FULL_MS : IDLE_MS, wakeable: !backlog };
    },
    failing: (rounds, err) => this.logger.warn(`could not start queued workflows (${rounds} rounds): ${err.message}; the jobs stay queued`),
    recovered: (rounds) => this.logger.log(`starting workflows again after ${rounds} failed rounds`),
  });

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    private readonly outbox: JobOutboxRepository,
    private readonly temporal: TemporalService,
    private readonly nodes: NodesService,
    private readonly metrics: ApiMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.relay.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }

  /** A job was accepted: start it now rather than at the next idle check. */
  wake(): void {
    this.relay.wake();
  }

  /**
   * Jobs accepted for an engine that engines.json no longer has (removed or
   * renamed before their workflow started) can't start: they end failed,
   * saying so, and whatever waits for them (followers, a submission, a
   * `?wait`) ends with them. Those already started run on the removed
   * engine's workers, which stay until then. Checked every IDLE_MS.
   */
  private async endUnconfigured(): Promise<void> {
    if (Date.now() < this.nextUnconfiguredCheck) return;
    this.nextUnconfiguredCheck = Date.now() + IDLE_MS;
    const names = this.config.engines.map((e) => e.config.name);
    for (const engine of await this.outbox.unstartedEnginesOtherThan(names)) {
      const error = `engine ${engine} was removed from engines.json before this job started, so it can't run; upload the file to an engine GET /engines lists`;
      const ended = await this.outbox.failUnstarted(engine, error);
      for (const _ of ended) this.metrics.jobEnded(engine, 'failed');
      if (ended.length) this.logger.warn({ engine, jobIds: ended }, 'jobs of a removed engine ended before they started');
    }
  }

  /** One pass over the engines: fills each one's window with the oldest unstarted jobs. */
  private async round(): Promise<{ started: number; backlog: boolean }> {
    let started = 0;
    let backlog = false;
    await this.endUnconfigured();
    for (const engine of this.config.engines) {
      const name = engine.config.name;
      const serving = await this.nodes.serving(name).catch(() => null);
      const ahead = Math.max(MIN_AHEAD, AHEAD_PER_SLOT * engine.config.workers * Math.max(1, serving?.nodes.length ?? 0));
      const room = ahead - (await this.outbox.countStartedQueued(name));
      if (room <= 0) {
        backlog = true; // possibly: the next check finds out
        continue;
      }
      const want = Math.min(room, BATCH);
      const jobs = await this.outbox.unstarted(name, want);
      if (jobs.length === want) backlog = true;
      started += await this.startAll(engine, jobs);
    }
    return { started, backlog };
  }

  private async startAll(engine: Engine, jobs: UnstartedJob[]): Promise<number> {
    const started: Array<{ id: string; runId: string }> = [];
    let failure: unknown;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_STARTS, jobs.length) }, async () => {
        while (next < jobs.length && failure === undefined) {
          const job = jobs[next++];
          try {
            const ttl = cacheTtlOf(engine, job.forced);
            const input = {
              jobId: job.id,
              // The bundle versions the job was given at upload.
              engine: specWithBundles(engine, job.data),
              sha256: job.sha256,
              ...(job.inputFrom ? { inputFrom: job.inputFrom } : {}),
              ...(ttl ? { cacheTtlSeconds: ttl } : {}),
            };
            const { runId } = await this.temporal.startJob(input, job.sha256, job.originalName);
            started.push({ id: job.id, runId });
          } catch (err) {
            failure ??= err;
          }
        }
      }),
    );
    // Recorded even when a later start failed: those stay unstarted for the next round.
    const cancelled = await this.outbox.markStarted(started);
    for (const id of cancelled) await this.temporal.cancel(workflowIdFor(id)).catch(() => undefined);
    if (failure !== undefined) throw failure;
    return started.length;
  }
}
