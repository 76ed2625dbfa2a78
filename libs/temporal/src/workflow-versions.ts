import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, versionFromPatches, WORKFLOW_VERSIONS, type VersionedWorkflow } from '@menagerie/core';
import { CHANGE_VERSION_KEY, SEARCH_ATTRIBUTE_KEYS } from './search-attributes';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** An open workflow of a version this code no longer runs. */
export interface UnrunnableWorkflow {
  type: VersionedWorkflow;
  workflowId: string;
  runId: string;
  version: number;
}

/** The visibility query for the open workflows of a type that may be older than it still runs. */
export function possiblyUnrunnableQuery(type: VersionedWorkflow): string {
  const version = SEARCH_ATTRIBUTES.workflowVersion;
  return (
    `WorkflowType = '${type}' AND ExecutionStatus = 'Running' AND ` +
    `(${version} IS NULL OR ${version} < ${WORKFLOW_VERSIONS[type].oldestRunnable})`
  );
}

/**
 * The open workflows of versions older than this code runs (WORKFLOW_VERSIONS'
 * `oldestRunnable`), up to `limit`. One visibility query per workflow type
 * finds the candidates: a workflow records its version from version 5 of
 * engineJob (3 of retentionSweep) on. An older one is known by the patches
 * Temporal recorded for it (TemporalChangeVersion). For one with neither,
 * its first events are read: if it has run no workflow task yet, the first
 * worker to run it decides its version, so it is no obstacle; otherwise its
 * patch markers say (none: version 1).
 */
export async function findUnrunnableWorkflows(client: Client, limit = 20): Promise<UnrunnableWorkflow[]> {
  const found: UnrunnableWorkflow[] = [];
  for (const type of Object.keys(WORKFLOW_VERSIONS) as VersionedWorkflow[]) {
    for await (const workflow of client.workflow.list({ query: possiblyUnrunnableQuery(type) })) {
      const version = await versionOf(client, type, workflow);
      if (version !== undefined && version < WORKFLOW_VERSIONS[type].oldestRunnable)
        found.push({ type, workflowId: workflow.workflowId, runId: workflow.runId, version });
      if (found.length >= limit) return found;
    }
  }
  return found;
}

async function versionOf(client: Client, type: VersionedWorkflow, workflow: WorkflowExecutionInfo): Promise<number | undefined> {
  const recorded = workflow.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.workflowVersion);
  if (recorded !== undefined) return recorded;
  const taken = workflow.typedSearchAttributes.get(CHANGE_VERSION_KEY);
  if (taken?.length) return versionFromPatches(type, taken);
  // Visibility may lag behind a workflow that has just run its first task: its history can't.
  const events = await firstEvents(client, workflow);
  if (!events.some((event) => event.workflowTaskCompletedEventAttributes)) return undefined;
  return versionFromPatches(type, events.flatMap(patchOf));
}

async function firstEvents(client: Client, { workflowId, runId }: WorkflowExecutionInfo): Promise<HistoryEvent[]> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 100,
  });
  return history?.events ?? [];
}

/** The patch a marker event records (`patched()`, `deprecatePatch()`), if it is one. */
export function patchOf(event: HistoryEvent): string[] {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
  if (!data) return [];
  const { id } = JSON.parse(Buffer.from(data).toString('utf8')) as { id?: unknown };
  return typeof id === 'string' ? [id] : [];
}

/**
 * Fails while a workflow this code can't run is open: its next task would
 * fail on every worker, and the job would be stuck. The error names them and
 * what to do. Workers call it before they poll.
 */
export async function refuseUnrunnableWorkflows(client: Client): Promise<void> {
  const unrunnable = await findUnrunnableWorkflows(client);
  if (!unrunnable.length) return;
  const named = unrunnable.map((w) => `${w.workflowId} (${w.type} v${w.version})`).join(', ');
  const oldest = (Object.keys(WORKFLOW_VERSIONS) as VersionedWorkflow[])
    .map((t) => `${t} v${WORKFLOW_VERSIONS[t].oldestRunnable}`)
    .join(', ');
  throw new Error(
    `open workflows of versions this release no longer runs (it runs ${oldest} and later): ${named}` +
      `${unrunnable.length >= 20 ? ' and more' : ''}. Let them finish on the release that started them (run its workers ` +
      `until none is left), or end them with 'temporal workflow terminate --namespace ${client.options.namespace} --workflow-id <id>', ` +
      `then start this worker again.`,
  );
}
