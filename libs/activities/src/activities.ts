import type { DataCheckInput, EngineJobInput, FinalStatusRecord } from '@menagerie/core';
import { checkDataBundle } from './data-check.activity';
import { withDefaults, type ActivityDeps } from './deps';
import { recordFinalStatus } from './final-status';
import { runJob } from './run-job.activity';

export type { ActivityDeps, RunningJobs, RunObserver } from './deps';
export { resolveEnv } from './engine-policy';

/** An engine job's activities, as its workers register them. */
export function createActivities(activityDeps: ActivityDeps) {
  const deps = withDefaults(activityDeps);
  return {
    runJob: (input: EngineJobInput) => runJob(deps, input),
    // The final status, on whatever worker runs the workflow. (The activity's name is in every workflow's history.)
    recordJobStatus: (input: FinalStatusRecord) => recordFinalStatus(deps, input),
    // A pushed data bundle's check, in the engine's image (the dataBundleCheck workflow).
    checkDataBundle: (input: DataCheckInput) => checkDataBundle(deps, input),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * Which of an engine's two task queues each activity is polled on: the
 * container queue (bounded by the engine's `workers`, where containers run) or
 * the engine's workflow queue (short database steps). Every activity must be
 * placed here, or the worker does not compile.
 */
export const ACTIVITY_QUEUES = {
  runJob: 'container',
  recordJobStatus: 'workflow',
  checkDataBundle: 'container',
} as const satisfies Record<keyof Activities, 'container' | 'workflow'>;

/** The activities polled on one of an engine's queues (ACTIVITY_QUEUES). */
export function activitiesOn(activities: Activities, queue: 'container' | 'workflow'): Partial<Activities> {
  return Object.fromEntries(Object.entries(activities).filter(([name]) => ACTIVITY_QUEUES[name as keyof Activities] === queue));
}
