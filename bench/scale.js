#!/usr/bin/env node
/**
 * One phase of the scale benchmark: N jobs of an I/O-bound engine, C clients
 * at a time, each uploading and then blocking on /result?wait until its job
 * has ended, through the cluster's load balancer. Prints a JSON line: jobs/s
 * from the first upload to the last answer (the client's view), the server's
 * span (first job created to last ended), and how many jobs each node ran.
 * Run through bench/scale.sh, which starts the cluster.
 */
'use strict';
const { parseArgs } = require('./lib/args');

const args = parseArgs();
const API = args.api ?? 'http://localhost:8180';
const ENGINE = args.engine ?? 'sleep2';
const JOBS = Number(args.jobs ?? 80);
const CONCURRENCY = Number(args.concurrency ?? 16);
const WARMUP = Number(args.warmup ?? 4);
const LABEL = args.label ?? `${JOBS} jobs`;
const FINAL = ['completed', 'failed', 'timed_out', 'cancelled', 'expired'];

async function job(i) {
  const form = new FormData();
  form.append('upload', new Blob([`scale bench input ${i}\n`]), `input-${i}.txt`);
  const res = await fetch(`${API}/${ENGINE}/upload`, { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  const { jobid } = await res.json();
  for (;;) {
    const r = await fetch(`${API}/result/${jobid}?wait=60`);
    if (r.status !== 200) throw new Error(`result ${jobid}: ${r.status} ${await r.text()}`);
    const j = await r.json();
    if (j.status === 'completed') return j;
    if (FINAL.includes(j.status)) throw new Error(`job ${jobid} ${j.status}: ${j.error}`);
  }
}

/** Runs `count` jobs with `clients` of them in flight at any time. */
async function run(count, clients) {
  let next = 0;
  const done = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, count) }, async () => {
      while (next < count) done.push(await job(next++));
    }),
  );
  return { seconds: (performance.now() - started) / 1000, jobs: done };
}

async function main() {
  await run(WARMUP, WARMUP);
  const { seconds, jobs } = await run(JOBS, CONCURRENCY);
  const perNode = {};
  for (const j of jobs) perNode[j.node ?? 'unknown'] = (perNode[j.node ?? 'unknown'] ?? 0) + 1;
  const runSeconds = jobs.map((j) => (new Date(j.finishedAt) - new Date(j.startedAt)) / 1000);
  // The same span as the server saw it: the first job created to the last one ended.
  const serverSeconds =
    (Math.max(...jobs.map((j) => +new Date(j.finishedAt))) - Math.min(...jobs.map((j) => +new Date(j.createdAt)))) / 1000;
  const out = {
    label: LABEL,
    jobs: JOBS,
    concurrency: CONCURRENCY,
    seconds: Math.round(seconds * 100) / 100,
    jobsPerSecond: Math.round((JOBS / seconds) * 1000) / 1000,
    serverSeconds: Math.round(serverSeconds * 100) / 100,
    meanRunSeconds: Math.round((runSeconds.reduce((a, b) => a + b, 0) / runSeconds.length) * 100) / 100,
    perNode,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`scale bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
