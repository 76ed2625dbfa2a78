import { unrecordedEnd } from './reconcile';

const ID = '6f1c1a8e-3c4b-4d5e-8f9a-0b1c2d3e4f5a';
const WF = `job-${ID}`;

describe('unrecordedEnd', () => {
  it('leaves a job whose workflow is open alone', () => {
    expect(unrecordedEnd(ID, WF, { state: 'open' })).toBeNull();
  });

  it('fails a job whose workflow an operator terminated, quoting the reason given', () => {
    expect(unrecordedEnd(ID, WF, { state: 'closed', how: 'terminated', detail: 'operator' })).toEqual({
      jobId: ID,
      status: 'failed',
      error: 'the workflow was terminated in Temporal ("operator") before it recorded a status',
    });
    expect(unrecordedEnd(ID, WF, { state: 'closed', how: 'terminated', detail: null })!.error).toBe(
      'the workflow was terminated in Temporal before it recorded a status',
    );
  });

  it('maps each other way a workflow closes to the status it means', () => {
    const end = (how: 'cancelled' | 'timed_out' | 'failed' | 'completed' | 'continued_as_new', detail: string | null = null) =>
      unrecordedEnd(ID, WF, { state: 'closed', how, detail });
    expect(end('cancelled')).toEqual({
      jobId: ID,
      status: 'cancelled',
      error: 'the workflow was cancelled in Temporal before it recorded a status',
    });
    expect(end('timed_out')).toEqual({
      jobId: ID,
      status: 'timed_out',
      error: 'the workflow timed out in Temporal before it recorded a status',
    });
    expect(end('failed', 'boom')).toEqual({
      jobId: ID,
      status: 'failed',
      error: 'the workflow failed in Temporal ("boom") before it recorded a status',
    });
    expect(end('completed')!.status).toBe('failed');
    expect(end('continued_as_new')!.error).toBe('the workflow continued as new in Temporal without recording a status');
  });

  it('fails a job Temporal has no workflow for, saying what to do', () => {
    expect(unrecordedEnd(ID, WF, { state: 'not_found' })).toEqual({
      jobId: ID,
      status: 'failed',
      error: `Temporal has no workflow ${WF} (its state was lost, or the namespace recreated), so the job can't end on its own; upload the file again, or retry the job`,
    });
  });
});
