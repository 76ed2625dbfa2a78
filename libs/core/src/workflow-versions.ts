/**
 * The versions of the workflows that stay open across an upgrade. A version
 * is the set of `patched()` branches a workflow took when it first ran: each
 * patch below introduced the version after the one before it (version 1 took
 * none). A new version adds its patch at the end of its workflow's list, and
 * is decided at the workflow's start.
 *
 * Versions end the way Temporal's own guide says (patched → deprecatePatch →
 * removed): once no open workflow can be of a version older than
 * `oldestRunnable`, the code of those versions is removed and the patch that
 * separated them from the rest is deprecated. A worker checks that at its
 * start (`refuseUnrunnableWorkflows` in @menagerie/temporal) and refuses to
 * poll while such a workflow is open, since its next task could only fail.
 */
export const WORKFLOW_PATCHES = {
  /** engineJob v2: the short steps as local activities. */
  shortStepsAsLocalActivities: 'short-steps-as-local-activities',
  /** engineJob v3: environment names only in activity inputs, and the run's facts in its final status. */
  runFactsAndEnvNames: 'run-facts-and-env-names',
  /** engineJob v4: the whole run in one activity on the node that takes it, then the final status. */
  nodeLocalRun: 'node-local-run',
  /** retentionSweep v2: each node sweeps its own containers, so the sweep no longer does. */
  nodesSweepThemselves: 'nodes-sweep-themselves',
  /** engineJob v5 and retentionSweep v3: the workflow records its version as a search attribute at its start. */
  recordsItsVersion: 'records-its-version',
} as const;

export interface WorkflowVersioning {
  /** The patch that introduced each version after the first, oldest first: version n + 2 took patches[n]. */
  readonly patches: readonly string[];
  /** The oldest version this code still runs. */
  readonly oldestRunnable: number;
}

export const WORKFLOW_VERSIONS = {
  engineJob: {
    patches: [
      WORKFLOW_PATCHES.shortStepsAsLocalActivities,
      WORKFLOW_PATCHES.runFactsAndEnvNames,
      WORKFLOW_PATCHES.nodeLocalRun,
      WORKFLOW_PATCHES.recordsItsVersion,
    ],
    oldestRunnable: 4,
  },
  retentionSweep: {
    patches: [WORKFLOW_PATCHES.nodesSweepThemselves, WORKFLOW_PATCHES.recordsItsVersion],
    oldestRunnable: 2,
  },
} as const satisfies Record<string, WorkflowVersioning>;

export type VersionedWorkflow = keyof typeof WORKFLOW_VERSIONS;

/** The version a workflow of this type starts at today. */
export function currentVersion(type: VersionedWorkflow): number {
  return WORKFLOW_VERSIONS[type].patches.length + 1;
}

/**
 * The version of a workflow that took these patches (Temporal records them in
 * the TemporalChangeVersion search attribute): that of the newest one it
 * took, or 1 if it took none.
 */
export function versionFromPatches(type: VersionedWorkflow, taken: readonly string[]): number {
  const patches: readonly string[] = WORKFLOW_VERSIONS[type].patches;
  return taken.reduce((version, patch) => Math.max(version, patches.indexOf(patch) + 2), 1);
}
