import { MenagerieError } from './errors';
import { isFinalStatus, isJobId, type JobStatus } from './job';

/** How a submission stands, from its jobs (IntelOwl's REPORTED_WITH_FAILS is `completed_with_failures`). */
export const SUBMISSION_STATUSES = ['running', 'completed', 'completed_with_failures', 'failed'] as const;
export type SubmissionStatus = (typeof SUBMISSION_STATUSES)[number];

/**
 * Any job not final: running. All completed: completed. All final and some
 * completed: completed_with_failures. None completed: failed.
 */
export function submissionStatus(statuses: readonly JobStatus[]): SubmissionStatus {
  if (statuses.some((s) => !isFinalStatus(s))) return 'running';
  const completed = statuses.filter((s) => s === 'completed').length;
  if (completed === statuses.length && completed > 0) return 'completed';
  return completed > 0 ? 'completed_with_failures' : 'failed';
}

/** What `engines=` asks for: every engine that accepts the file, or these, in this order. */
export type EngineChoice = { auto: true } | { auto: false; names: string[] };

const ENGINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Reads `engines=a,b,c` or `engines=auto`. Whether the names are configured
 * engines is for the caller (ENGINE_UNKNOWN); here only the list's shape is
 * checked: present, no empty entry, no duplicate, `auto` alone.
 */
export function parseEngineChoice(value: unknown): EngineChoice {
  const example = 'name the engines as engines=apktool,filemeta, or engines=auto for every engine that accepts the file';
  if (typeof value !== 'string') {
    throw new MenagerieError('INVALID_ENGINES', value === undefined ? example : `give engines once; ${example}`);
  }
  const names = value.split(',').map((name) => name.trim());
  if (names.length === 1 && names[0] === 'auto') return { auto: true };
  const bad = names.find((name) => !ENGINE_NAME.test(name) || name === 'auto');
  if (bad !== undefined) {
    throw new MenagerieError(
      'INVALID_ENGINES',
      bad === 'auto' ? `auto stands alone; ${example}` : `"${value}" is not a list of engine names; ${example}`,
    );
  }
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined)
    throw new MenagerieError('INVALID_ENGINES', `engine ${twice} is named twice; each engine runs once per submission`);
  return { auto: false, names };
}

/** A submission id from a request, lower-cased; INVALID_SUBMISSION_ID when it is not a UUID. */
export function canonicalSubmissionId(value: unknown): string {
  const id = typeof value === 'string' ? value.toLowerCase() : '';
  if (!isJobId(id))
    throw new MenagerieError('INVALID_SUBMISSION_ID', 'a submission id is a UUID such as 3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90');
  return id;
}
