import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, WorkflowIdReusePolicy } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, WEBHOOK_QUEUE, WEBHOOK_WORKFLOW_TYPE, webhookWorkflowIdFor, WORKFLOW_TYPE, workflowIdFor, type EngineJobInput, type WebhookDeliveryInput } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { CONFIG } from '../common/tokens';

const ENGINE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.engine, SearchAttributeType.KEYWORD);
const SHA256_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha256, SearchAttributeType.KEYWORD);

const START_TIMEOUT_MS = 6_000;

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
    const namespace = this.config.settings.temporal.namespace;
    const existing = await this.connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
    if (missing.length) {
      await this.connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
      });
      this.logger.log(`registered search attributes ${missing.join(', ')}`);
    }
    this.searchAttributesReady = true;
  }

  async startJob(input: EngineJobInput, sha256: string, originalName: string): Promise<StartedWorkflow> {
    // Bounded, so a client whose upload can't be scheduled hears so promptly.
    const deadline = Date.now() + START_TIMEOUT_MS;
    await this.connection.withDeadline(deadline, () => this.ensureSearchAttributes());
    const workflowId = workflowIdFor(input.jobId);
    try {
      const handle = await this.connection.withDeadline(deadline, () => this.client.workflow.start(WORKFLOW_TYPE, {
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
      }));
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const described = await this.connection.withDeadline(deadline, () => this.client.workflow.getHandle(workflowId).describe());
      return { workflowId, runId: described.runId };
    }
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
