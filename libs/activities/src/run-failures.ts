import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FAILURE_TYPES, type EngineSpec, type FailureDetails } from '@menagerie/core';
import type { ContainerPolicy } from '@menagerie/engines';
import type { RunOutcome } from '@menagerie/runtime';
import type { JobDirUsage } from '@menagerie/storage';

/** Fails the activity for good: the workflow records `message` as the job's error, with the facts in `details`. */
export function fail(message: string, type: string, details: FailureDetails = {}): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true, details: [details] });
}

export function noResult(engine: EngineSpec, facts: FailureDetails = {}): never {
  return fail(`engine finished but wrote no result file at ${engine.mountpoint}/result`, FAILURE_TYPES.noResult, facts);
}

/** Names the limit the engine ran into: its bytes, or the files and directories they allow. */
function jobDirFullMessage(usage: JobDirUsage, killed: boolean): string {
  const what =
    usage.full === 'inodes'
      ? `engine filled its job directory with the most files and directories it may hold (${usage.inodeLimit}, set by jobDirLimitBytes ${usage.limitBytes})`
      : `engine filled its job directory to its limit of ${usage.limitBytes} bytes (jobDirLimitBytes)`;
  return killed ? `${what} and was killed` : what;
}

/** How a container's run went, as the failure of the job it names; returns only for a clean exit. */
export interface RunEnd {
  outcome: RunOutcome;
  engine: EngineSpec;
  policy: ContainerPolicy;
  /** What ran, when and where: recorded whatever the outcome. */
  facts: FailureDetails;
  logTail: string;
  /** The job directory's usage when it was full at the end (or when the watchdog stopped the engine for it). */
  full: JobDirUsage | null;
  /** The watchdog stopped the engine for filling its job directory. */
  killedForDisk: boolean;
}

/**
 * The one mapping from a run's outcome to the job's failure. A run that filled
 * its job directory failed, whatever the engine exited with: a write of its
 * was refused (ENOSPC), and what it handed back can't be trusted to be whole.
 * (So a limit set too tight for an engine shows up as this, by name, never as
 * a silent cut.)
 */
export function failUnlessClean({ outcome, engine, policy, facts, logTail, full, killedForDisk }: RunEnd): void {
  if (full) {
    fail(jobDirFullMessage(full, killedForDisk), FAILURE_TYPES.engineFailed, {
      ...facts,
      ...(killedForDisk ? {} : { exitCode: outcome.exitCode }),
      logTail,
    });
  }
  if (outcome.cancelled) throw new CancelledFailure('job cancelled; its container was killed and removed');
  if (outcome.timedOut) {
    fail(`engine exceeded its timeout of ${engine.timeout}s and was killed`, FAILURE_TYPES.engineTimeout, { ...facts, logTail });
  }
  if (outcome.oomKilled) {
    fail(`engine was killed for exceeding its memory limit of ${policy.memoryBytes} bytes`, FAILURE_TYPES.engineFailed, {
      ...facts,
      exitCode: outcome.exitCode,
      logTail,
    });
  }
  if (outcome.exitCode !== 0) {
    fail(`engine exited with code ${outcome.exitCode}`, FAILURE_TYPES.engineFailed, { ...facts, exitCode: outcome.exitCode, logTail });
  }
}
