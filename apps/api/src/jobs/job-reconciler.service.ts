import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { unrecordedEnd, type FinalStatusRecord } from '@menagerie/core';
import { JobOutboxRepository, type JobRepository } from '@menagerie/db';
import { ApiMetrics } from '@menagerie/metrics';
import type { MenagerieConfig } from '@menagerie/config';
import { CONFIG, JOB_REPOSITORY } from '../common/tokens';
import { TemporalService } from '../infra/temporal.service';

/** Rows checked per round (the started ones are the dispatch windows and the running jobs: far fewer). */
const BATCH = 1000;

/**
 * Ends the jobs Temporal forgot. A job's workflow records the job's final
 * status before it closes; a row still queued or running whose workflow has
 * closed (terminated or reset from the Web UI, timed out) or is unknown to
 * Temporal (lost state, a recreated namespace) would otherwise wait for ever,
 * and hold a place in its engine's dispatch window. Every round, the started
 * rows that have not ended are compared with the open workflows (one
 * visibility query); each one missing there is asked of Temporal directly
 * (visibility may lag a start), and ended with the reason (unrecordedEnd)
 * when its workflow is indeed closed or gone. The write is the usual
 * first-write-wins final status, so a workflow that records its own end at
 * the same moment keeps it. Every replica runs one; they race harmlessly.
 */
@Injectable()
export class JobReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobReconciler.name);
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private failures = 0;

  constructor(
    @Inject(CONFIG) private readonly config: MenagerieConfig,
    @Inject(JOB_REPOSITORY) private readonly jobs: JobRepository,
    private readonly outbox: JobOutboxRepository,
    private readonly temporal: TemporalService,
    private readonly metrics: ApiMetrics,
  ) {}

  onApplicationBootstrap(): void {
    // api.reconcileSeconds: a row whose workflow closed without writing it ends within about this.
    this.timer = setInterval(() => void this.runRound(), this.config.settings.api.reconcileSeconds * 1000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.round;
  }

  private runRound(): Promise<void> {
    this.round ??= this.reconcile()
      .then(() => {
        if (this.failures) this.logger.log(`checking jobs against Temporal again after ${this.failures} failed rounds`);
        this.failures = 0;
      })
      .catch((err: unknown) => {
        if (this.failures++ % 30 === 0) this.logger.warn(`could not check jobs against Temporal: ${(err as Error).message}; trying again`);
      })
      .finally(() => (this.round = null));
    return this.round;
  }

  /** One round; answers the jobs it ended. */
  async reconcile(): Promise<FinalStatusRecord[]> {
    const rows = await this.outbox.startedUnfinished(BATCH);
    if (!rows.length) return [];
    const open = await this.temporal.openJobWorkflows();
    const ended: FinalStatusRecord[] = [];
    for (const row of rows.filter((r) => !open.has(r.workflowId))) {
      const end = unrecordedEnd(row.id, row.workflowId, await this.temporal.workflowState(row.workflowId));
      if (end && (await this.end(row.engine, end))) ended.push(end);
    }
    return ended;
  }

  /** Records `end` unless the job has ended meanwhile; answers whether this write ended it. */
  async end(engine: string, end: FinalStatusRecord): Promise<boolean> {
    if (!(await this.jobs.recordFinalStatus(end))) return false;
    this.metrics.jobEnded(engine, end.status);
    this.logger.warn(
      { jobId: end.jobId, status: end.status, error: end.error },
      'job ended: its workflow closed in Temporal without recording it',
    );
    return true;
  }
}
