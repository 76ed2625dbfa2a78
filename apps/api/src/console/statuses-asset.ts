import { FINAL_STATUSES, JOB_STATUSES, VERDICTS } from '@menagerie/core';

/** Its key among the console's files: the scripts import it as `./statuses.js`, beside them. */
export const STATUSES_ASSET = 'assets/statuses.js';

/**
 * The job statuses and the report verdicts (worst first) as an ES module for
 * the console's scripts, which can't import TypeScript: written from
 * @menagerie/core's lists when the API starts, so the browser reads the very
 * lists the API, the workflows and the report schema use.
 */
export function statusesModule(): string {
  return [
    '// Written by the API at start from @menagerie/core (libs/core/src/job.ts, report.ts): the one list of job statuses, and of verdicts.',
    `export const JOB_STATUSES = Object.freeze(${JSON.stringify(JOB_STATUSES)});`,
    `export const FINAL_STATUSES = Object.freeze(${JSON.stringify(FINAL_STATUSES)});`,
    `export const VERDICTS = Object.freeze(${JSON.stringify(VERDICTS)});`,
    '',
  ].join('\n');
}
