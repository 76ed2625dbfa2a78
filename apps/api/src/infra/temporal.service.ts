import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  DATA_CHECK_WORKFLOW_TYPE,
  dataCheckWorkflowIdFor,
  type DataCheckInput,
  type DataCheckOutcome,
  type WorkflowState,
  WEBHOOK_QUEUE,
  WEBHOOK_WORKFLOW_TYPE,
  webhookWorkflowIdFor,
  WORKFLOW_TYPE,
  workflowIdFor,
  type EngineJobInput,
  type WebhookDeliveryInput,
} from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { ensureSearchAttributes, SEARCH_ATTRIBUTE_KEYS } from '@menagerie/temporal';
import { CONFIG } from '../common/tokens';

const { engine: ENGINE_KEY, sha256: SHA256_KEY } = SEARCH_ATTRIBUTE_KEYS;

const START_TIMEOUT_MS = 6_000;

/** Temporal's closed execution statuses, as a job's reconciliation names them. */
const CLOSED_AS: Record<string, Extract<WorkflowState, { state: 'closed' }>['how']> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'continued_as_new',
};

export interface StartedWorkflow {
  workflowId: string;
  runId: string;
}

/** The API's side of Temporal: starting, cancelling and checking job workflows. */
@Injectable()
export class TemporalService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(TemporalService.name);
  private readonly connection: Connection;
  private readonly client: Client;
  private searchAttributesReady = false;
  private checking: Promise<void> | null = null;
  private nextCheck: Promise<void> | null = null;
  private readonly closing = new AbortController();
  /** Aborted when the API begins to shut down. */
  readonly stopping: AbortSignal = this.closing.signal;

  constructor(@Inject(CONFIG) private readonly config: MenagerieConfig) {
    // Lazy: the API starts (and /health reports) even while Temporal is down.
    this.connection = Connection.lazy({ address: config.settings.temporal.address, connectTimeout: '5 seconds' });
    this.client = new Client({ connection: this.connection, namespace: config.settings.temporal.namespace });
  }

  async onModuleInit(): Promise<void> {
    await this.ensureSearchAttributes().catch((err) =>
      this.logger.warn(`Temporal is not reachable yet (${(err as Error).message}); will retry on first upload`),
    );
  }

  /** Ends every waiting `?wait` request before the HTTP server waits for them to finish. */
  beforeApplicationShutdown(): void {
    this.closing.abort();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }

  /** Registers the search attributes that make jobs findable by engine and sha256 in the Web UI. */
  private async ensureSearchAttributes(): Promise<void> {
    if (this.searchAttributesReady) return;
    const registered = await ensureSearchAttributes(this.connection, this.config.settings.temporal.namespace);
    if (registered.length) this.logger.log(`registered search attributes ${registered.join(', ')}`);
    this.searchAttributesReady = true;
  }

  async startJob(input: EngineJobInput, sha256: string, originalName: string): Promise<StartedWorkflow> {
    // Bounded, so a client whose upload can't be scheduled hears so promptly.
    const deadline = Date.now() + START_TIMEOUT_MS;
    await this.connection.withDeadline(deadline, () => this.ensureSearchAttributes());
    const workflowId = workflowIdFor(input.jobId);
    try {
      const handle = await this.connection.withDeadline(deadline, () =>
        this.client.workflow.start(WORKFLOW_TYPE, {
          workflowId,
          taskQueue: input.engine.name,
          args: [{ ...input, originalName }],
          typedSearchAttributes: [
            { key: ENGINE_KEY, value: input.engine.name },
            { key: SHA256_KEY, value: sha256 },
          ],
          memo: { engine: input.engine.name, sha256, originalName },
          // Started at most once: a start repeated after a crash (its run id never recorded) must not run the job again, even once it ended.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
      );
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const described = await this.connection.withDeadline(deadline, () => this.client.workflow.getHandle(workflowId).describe());
      return { workflowId, runId: described.runId };
    }
  }

  /**
   * Runs a pushed bundle's check (the dataBundleCheck workflow, on the
   * engine's workflow queue) and waits for its outcome, at most `timeoutMs`;
   * a workflow that failed (no node took it, the image is missing) throws
   * its failure, a wait past the bound a timeout.
   */
  async checkDataBundle(input: DataCheckInput, timeoutMs: number): Promise<DataCheckOutcome> {
    const deadline = Date.now() + timeoutMs;
    await this.connection.withDeadline(Date.now() + START_TIMEOUT_MS, () => this.ensureSearchAttributes());
    const handle = await this.connection.withDeadline(Date.now() + START_TIMEOUT_MS, () =>
      this.client.workflow.start(DATA_CHECK_WORKFLOW_TYPE, {
        workflowId: dataCheckWorkflowIdFor(input.checkId),
        taskQueue: input.engine.name,
        args: [input],
        workflowExecutionTimeout: timeoutMs,
        memo: { engine: input.engine.name, bundle: input.bundle, digest: input.digest },
      }),
    );
    return this.connection.withDeadline(deadline, () => handle.result());
  }

  /** Starts a webhook delivery's workflow; one already started (a start repeated after a crash) counts as started. */
  async startWebhook(input: WebhookDeliveryInput): Promise<void> {
    try {
      await this.connection.withDeadline(Date.now() + START_TIMEOUT_MS, () =>
        this.client.workflow.start(WEBHOOK_WORKFLOW_TYPE, {
          workflowId: webhookWorkflowIdFor(input.deliveryId),
          taskQueue: WEBHOOK_QUEUE,
          args: [input],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
      );
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /**
   * Resolves once Temporal has answered a call made after this one was
   * asked, or rejects: callers at the same moment share one call, so the
   * check costs a round trip per burst, not one per upload. (No answer is
   * reused later, however recent: an upload taken just after Temporal went
   * away would be accepted while it is down.)
   */
  reachable(timeoutMs = 3000): Promise<void> {
    if (!this.checking) {
      this.checking = this.connection
        .withDeadline(Date.now() + timeoutMs, () => this.connection.workflowService.getSystemInfo({}))
        .then(() => undefined)
        .finally(() => (this.checking = null));
      return this.checking;
    }
    // The call under way began before this caller asked, so it can't vouch for now: share the next one.
    this.nextCheck ??= this.checking
      .catch(() => undefined)
      .then(() => {
        this.nextCheck = null;
        return this.reachable(timeoutMs);
      });
    return this.nextCheck;
  }

  /**
   * The ids of every open job workflow, from Temporal's visibility store (which
   * may lag a start by a moment: a workflow missing here is asked directly,
   * see workflowState). Bounded: the open ones are the started jobs' window
   * and the running ones.
   */
  async openJobWorkflows(timeoutMs = 10_000): Promise<Set<string>> {
    const open = new Set<string>();
    await this.connection.withDeadline(Date.now() + timeoutMs, async () => {
      for await (const wf of this.client.workflow.list({
        query: `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
        pageSize: 1000,
      })) {
        open.add(wf.workflowId);
      }
    });
    return open;
  }

  /** How Temporal sees the workflow now (its latest run), with the close event's detail once it has closed. */
  async workflowState(workflowId: string, timeoutMs = 5000): Promise<WorkflowState> {
    const deadline = Date.now() + timeoutMs;
    let status: string;
    try {
      status = (await this.connection.withDeadline(deadline, () => this.client.workflow.getHandle(workflowId).describe())).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { state: 'not_found' };
      throw err;
    }
    const how = CLOSED_AS[status];
    // Running, paused, or a status this SDK does not know: nothing is ended on a guess.
    if (!how) return { state: 'open' };
    return { state: 'closed', how, detail: await this.closeDetail(workflowId, deadline).catch(() => null) };
  }

  /** The reason an operator gave a termination, or a failure's message. */
  private async closeDetail(workflowId: string, deadline: number): Promise<string | null> {
    const { history } = await this.connection.withDeadline(deadline, () =>
      this.connection.workflowService.getWorkflowExecutionHistory({
        namespace: this.config.settings.temporal.namespace,
        execution: { workflowId },
        historyEventFilterType: temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      }),
    );
    const event = history?.events?.[0];
    return (
      event?.workflowExecutionTerminatedEventAttributes?.reason || event?.workflowExecutionFailedEventAttributes?.failure?.message || null
    );
  }

  /** Requests cancellation; false when the workflow no longer exists. */
  async cancel(workflowId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId).cancel();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async ping(timeoutMs = 3000): Promise<void> {
    await this.connection.withDeadline(Date.now() + timeoutMs, () =>
      this.connection.workflowService.describeNamespace({ namespace: this.config.settings.temporal.namespace }),
    );
  }
}
