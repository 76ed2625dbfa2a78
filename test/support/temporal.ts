import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { WORKFLOW_TYPE, workflowIdFor } from '@menagerie/core';
import { SEARCH_ATTRIBUTE_KEYS } from '@menagerie/temporal';
import { TEMPORAL_BIN } from './env';

/**
 * Tests fail activities on purpose; the SDK's WARN line for each, with its
 * stack, buries the real output. Keep errors only (LOG_LEVEL=debug shows all).
 */
export function quietTemporalLogs(): void {
  const level = process.env.LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR';
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed in this module registry.
  }
}

/** A Temporal dev server of a spec's own, with quiet logs and the search attributes a worker registers. */
export async function localTemporal(): Promise<TestWorkflowEnvironment> {
  quietTemporalLogs();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: TEMPORAL_BIN },
      ip: '127.0.0.1',
      log: { format: 'pretty', level: 'error' },
      searchAttributes: Object.values(SEARCH_ATTRIBUTE_KEYS),
    },
  });
}

/** Every engineJob workflow the namespace knows, as Temporal's visibility lists them. */
export async function engineJobWorkflows(client: Client): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}'` })) found.push(wf);
  return found;
}

/** The attempt number of each activity start in a job's history (only an activity's last attempt is recorded). */
export async function activityAttempts(client: Client, jobId: string): Promise<number[]> {
  const history = await client.workflow.getHandle(workflowIdFor(jobId)).fetchHistory();
  return history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt!);
}
