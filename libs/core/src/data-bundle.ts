import type { EngineSpec } from './contract';

/** The workflow that runs an engine's datacheck on a pushed bundle version, on the engine's workflow queue. */
export const DATA_CHECK_WORKFLOW_TYPE = 'dataBundleCheck';

/** Its workflow id: one per push (a check's id is a UUID of its own). */
export function dataCheckWorkflowIdFor(checkId: string): string {
  return `data-check-${checkId}`;
}

/** One check of one pushed bundle version, run in the engine's image on any node that serves it. */
export interface DataCheckInput {
  /** A UUID of the check's own: its scratch directory and container are named after it, as a job's are. */
  checkId: string;
  /** The engine's spec, as a job of it would run (environment names only). */
  engine: EngineSpec;
  bundle: string;
  /** Where the bundle is mounted, read-only. */
  target: string;
  digest: string;
  /** The engine's datacheck command. */
  cmd: string[];
}

/** How the check went: exit 0 within the engine's timeout accepts the bundle; `log` is the end of what it printed. */
export interface DataCheckOutcome {
  accepted: boolean;
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  log: string;
  node: string;
}

/** Why a check refused a version, in words for whoever pushed it, with the check's own output. */
export function dataCheckRefusal(engine: string, bundle: string, outcome: DataCheckOutcome, timeoutSeconds: number): string {
  const why = outcome.timedOut
    ? `did not finish within the engine's timeout of ${timeoutSeconds} s`
    : outcome.oomKilled
      ? 'was killed for exceeding its memory limit'
      : `exited with code ${outcome.exitCode}`;
  const said = outcome.log.trim();
  return `engine ${engine} refused this ${bundle} bundle: its datacheck ${why}${said ? `:\n${said}` : ' and printed nothing'}`;
}
