import type { FinalStatusRecord } from './contract';

/**
 * How Temporal last saw a job's workflow (its latest run, by workflow id):
 * open, closed in one of Temporal's ways with the close event's detail, or
 * unknown to it.
 */
export type WorkflowState =
  | { state: 'open' }
  | { state: 'closed'; how: 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'continued_as_new'; detail: string | null }
  | { state: 'not_found' };

/**
 * A row that is still queued or running, whose workflow Temporal no longer
 * runs, will never be written by that workflow again: the final status it
 * gets instead, with a reason a person can act on. Null while the workflow is
 * open. (A workflow records the job's status before it closes; a row left
 * unfinished means it closed another way: an operator terminated or reset
 * it, a workflow timeout, or Temporal lost it.) The one rule the API's
 * reconciler and DELETE /jobs/<id> follow.
 */
export function unrecordedEnd(jobId: string, workflowId: string, wf: WorkflowState): FinalStatusRecord | null {
  if (wf.state === 'open') return null;
  const before = 'before it recorded a status';
  if (wf.state === 'not_found') {
    return {
      jobId,
      status: 'failed',
      error: `Temporal has no workflow ${workflowId} (its state was lost, or the namespace recreated), so the job can't end on its own; upload the file again, or retry the job`,
    };
  }
  const detail = wf.detail ? ` (${JSON.stringify(wf.detail)})` : '';
  switch (wf.how) {
    case 'terminated':
      return { jobId, status: 'failed', error: `the workflow was terminated in Temporal${detail} ${before}` };
    case 'cancelled':
      return { jobId, status: 'cancelled', error: `the workflow was cancelled in Temporal ${before}` };
    case 'timed_out':
      return { jobId, status: 'timed_out', error: `the workflow timed out in Temporal ${before}` };
    case 'failed':
      return { jobId, status: 'failed', error: `the workflow failed in Temporal${detail} ${before}` };
    default:
      return {
        jobId,
        status: 'failed',
        error: `the workflow ${wf.how === 'completed' ? 'completed' : 'continued as new'} in Temporal without recording a status`,
      };
  }
}
