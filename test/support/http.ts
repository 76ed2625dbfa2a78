import type { JobView } from '../../apps/api/src/jobs/job.view';
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';

/** The job as the API shows it. */
export type Job = JobView;

export async function uploadFile(baseUrl: string, engine: string, path: string, name = basename(path)): Promise<Response> {
  const form = new FormData();
  form.append('upload', await openAsBlob(path), name);
  return fetch(`${baseUrl}/${engine}/upload`, { method: 'POST', body: form });
}

export async function uploadBytes(baseUrl: string, engine: string, bytes: Buffer | string, name = 'sample.bin'): Promise<Response> {
  const form = new FormData();
  form.append('upload', new Blob([bytes]), name);
  return fetch(`${baseUrl}/${engine}/upload`, { method: 'POST', body: form });
}

export async function getJob(baseUrl: string, id: string): Promise<Job> {
  const res = await fetch(`${baseUrl}/result/${id}`);
  if (res.status !== 200) throw new Error(`GET /result/${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Job;
}

const FINAL = ['completed', 'failed', 'timed_out', 'cancelled'];

export async function waitForJob(
  baseUrl: string,
  id: string,
  timeoutMs = 240_000,
  until: (j: Job) => boolean = (j) => FINAL.includes(j.status),
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(baseUrl, id);
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A response's JSON, loosely typed for assertions. */

export async function body<T = Record<string, any>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Uploads bytes to an engine, expects the job to be queued (201), and returns it. */
export async function queueBytes(baseUrl: string, engine: string, bytes: Buffer | string, name = 'in.bin'): Promise<Job> {
  const res = await uploadBytes(baseUrl, engine, bytes, name);
  expect(res.status).toBe(201);
  return body<Job>(res);
}
