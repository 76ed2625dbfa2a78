import type { Job, Submission } from '../../../apps/cli/src/types';

/** A job as the API shows it, with only what a test sets differing. */
export function job(over: Partial<Job> = {}): Job {
  return {
    jobid: '9a574ddf-419b-4fc3-aa29-b1133c9cb233',
    engine: 'filemeta',
    status: 'queued',
    input: { name: 'sample.txt', size: 12, sha256: 'ab'.repeat(32), mime: 'text/plain' },
    createdAt: '2026-11-27T04:01:36.683Z',
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    error: null,
    result: null,
    resultUrl: null,
    statusUrl: 'http://api/result/9a574ddf-419b-4fc3-aa29-b1133c9cb233',
    cached: false,
    cachedFrom: null,
    waitingFor: null,
    submission: null,
    ...over,
  };
}

export function submission(jobs: Job[], over: Partial<Submission> = {}): Submission {
  return {
    submissionId: '1b2c3d4e-0000-4000-8000-000000000001',
    status: 'running',
    input: { name: 'app.apk', size: 2486, sha256: 'cd'.repeat(32), mime: 'application/vnd.android.package-archive' },
    requested: jobs.map((j) => j.engine).join(','),
    jobs,
    summary: {},
    statusUrl: 'http://api/submission/1b2c3d4e-0000-4000-8000-000000000001',
    ...over,
  };
}

/** A fetch that answers from a list of handlers, recording each request. */
export function stubFetch(answer: (url: URL, init: RequestInit) => Response | Promise<Response>) {
  const calls: { method: string; url: URL; headers: Record<string, string> }[] = [];
  const fn = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    calls.push({ method: init.method ?? 'GET', url, headers: { ...(init.headers as Record<string, string>) } });
    return answer(url, init);
  }) as typeof fetch;
  return { fn, calls };
}

export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
