import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import { currentVersion, SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES, WORKFLOW_PATCHES, type VersionedWorkflow } from '@menagerie/core';

/** The search attributes workflows upsert, typed from core's one table. */
export const nodeKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.node, SearchAttributeType[SEARCH_ATTRIBUTE_TYPES.node]);
const versionKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.workflowVersion, SearchAttributeType[SEARCH_ATTRIBUTE_TYPES.workflowVersion]);

/**
 * Records the version a new workflow runs at, for the workers' start-up check
 * (WORKFLOW_VERSIONS in core). Called first thing; a workflow from before it
 * replays without it.
 */
export function recordVersion(type: VersionedWorkflow): void {
  if (patched(WORKFLOW_PATCHES.recordsItsVersion)) upsertSearchAttributes([{ key: versionKey, value: currentVersion(type) }]);
}
