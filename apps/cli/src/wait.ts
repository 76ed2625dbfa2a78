import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from './client';
import { ApiError, CliError } from './errors';
import { isFinal, submissionEnded, type Job, type Submission } from './types';

/** The longest ?wait the API takes: each request answers when the job ends, or after this. */
export const LONG_POLL_SECONDS = 60;
/** Shorter polls for one file's status lines, so that "running" shows soon after it starts. */
export const STATUS_LINE_POLL_SECONDS = 10;

/** Consecutive failed polls (no answer, or a 502/503/504 of a proxy or a restarting replica) tolerated while waiting. */
const RETRIES = 5;

/**
 * The job once it has ended: `GET /result/<id>?wait=N` in a loop, so that
 * the answer comes the moment its final status is committed. `onChange`
 * hears every status it is seen in, starting with the one given.
 */
export async function untilJobEnds(
  client: ApiClient,
  job: Job,
  pollSeconds: number,
  onChange: (job: Job) => void = () => undefined,
): Promise<Job> {
  onChange(job);
  let current = job;
  while (!isFinal(current.status)) {
    const next = await retried(() => client.job(current.jobid, pollSeconds));
    if (next.status !== current.status) onChange(next);
    current = next;
  }
  return current;
}

/** The submission once none of its jobs is queued or running (`GET /submission/<id>?wait=N` in a loop). */
export async function untilSubmissionEnds(
  client: ApiClient,
  submission: Submission,
  pollSeconds: number,
  onChange: (job: Job) => void = () => undefined,
): Promise<Submission> {
  const seen = new Map<string, string>();
  const report = (s: Submission) => {
    for (const job of s.jobs) {
      if (seen.get(job.jobid) !== job.status) onChange(job);
      seen.set(job.jobid, job.status);
    }
  };
  report(submission);
  let current = submission;
  while (!submissionEnded(current)) {
    current = await retried(() => client.submission(current.submissionId, pollSeconds));
    report(current);
  }
  return current;
}

function transient(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 502 || err.status === 503 || err.status === 504;
  return err instanceof CliError && err.code === 'CONNECTION_FAILED';
}

async function retried<T>(poll: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await poll();
    } catch (err) {
      if (!transient(err) || attempt >= RETRIES) throw err;
      await sleep(500 * 2 ** attempt);
    }
  }
}
