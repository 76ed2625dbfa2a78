#!/usr/bin/env node
/**
 * Menagerie benchmark: latency and throughput against the floor, the Docker
 * Engine API alone (create, attach, start, wait, remove through dockerode,
 * with the same image, command, containment flags, bind-mounted job
 * directory and input), with plain `docker run` as a second column; CPU per
 * job per process; and the API's memory while large uploads stream. Prints
 * the figures with their targets and writes them as JSON.
 * Run through bench/run.sh, which starts a dedicated API and worker.
 */
'use strict';
const { createWriteStream, mkdtempSync, openAsBlob, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { parseArgs } = require('./lib/args');
const { parallel } = require('./lib/concurrency');
const { cpuSnapshot: snapshot, cpuPer } = require('./lib/cpu');
const { ENGINE, dockerRun, floorRun, floorSetup } = require('./lib/docker-floor');
const { postUpload } = require('./lib/http');
const { target, targetLines, writeResults } = require('./lib/report');
const { p50p95, pct, round, sleep } = require('./lib/stats');
const { FINAL_STATUSES, LIVE_STATUSES } = require('./lib/statuses');

const args = parseArgs();
const API = args.api ?? 'http://localhost:8199';
const API_PID = Number(args['api-pid']);
const WORKER_PID = Number(args['worker-pid']);
const OUT = args.out ?? 'bench/results.json';
const LATENCY_RUNS = Number(args.runs ?? 30);
const LEVELS = (args.levels ?? '1,4,8').split(',').map(Number);
const BIG_UPLOADS = Number(args['big-uploads'] ?? 10);
const BIG_SIZE = Number(args['big-size'] ?? 200 * 1024 * 1024);

function sampleInput() {
  const dir = mkdtempSync(join(tmpdir(), 'menagerie-bench-'));
  const file = join(dir, 'sample.bin');
  writeFileSync(file, Buffer.from('MZ benchmark sample\n' + 'printable-string-for-the-engine\n'.repeat(64)));
  return file;
}

let jobsSent = 0;

/**
 * One job as a client sees it: upload, then block on /result?wait until it
 * has ended. Each upload's bytes differ (a counter at the end), so that each
 * is a real run that asked the cache and missed; `same` sends the file as it
 * is, which the cache answers once it has run.
 */
async function job(file, { same = false } = {}) {
  const started = performance.now();
  const bytes = readFileSync(file);
  const res = await postUpload(API, ENGINE, new Blob(same ? [bytes] : [bytes, `\n#${process.pid}-${jobsSent++}\n`]), 'sample.bin');
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  const { jobid } = await res.json();
  for (;;) {
    const j = await (await fetch(`${API}/result/${jobid}?wait=60`)).json();
    if (j.status === 'completed') {
      return {
        ms: performance.now() - started,
        platformMs: new Date(j.finishedAt) - new Date(j.createdAt),
        runMs: new Date(j.finishedAt) - new Date(j.startedAt),
        cached: j.cached,
      };
    }
    if (FINAL_STATUSES.includes(j.status)) throw new Error(`job ${jobid} ${j.status}: ${j.error}`);
  }
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

const cpuSnapshot = () => snapshot({ api: API_PID, worker: WORKER_PID });
/** Whole milliseconds of CPU per job during a phase: the machine's total and what each part used. */
const cpuPerJob = (before, after, jobs) =>
  Object.fromEntries(Object.entries(cpuPer(before, after, jobs)).map(([k, v]) => [k, Math.round(v)]));

async function bigFile() {
  const file = join(mkdtempSync(join(tmpdir(), 'menagerie-bench-big-')), 'big.bin');
  const out = createWriteStream(file);
  const chunk = Buffer.alloc(1024 * 1024, 0x41);
  for (let i = 0; i < BIG_SIZE / chunk.length; i++) if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  await new Promise((r) => out.end(r));
  return file;
}

async function main() {
  const file = sampleInput();
  const results = {
    when: new Date().toISOString(),
    machine: { cpus: require('node:os').cpus().length, memGiB: Math.round(require('node:os').totalmem() / 1024 ** 3) },
  };

  await floorSetup();
  process.stderr.write('warming up\n');
  for (let i = 0; i < 3; i++) {
    await job(file);
    await dockerRun(file);
    await floorRun(file);
  }

  process.stderr.write(`latency: ${LATENCY_RUNS} sequential jobs, Engine API runs and docker runs, interleaved\n`);
  const jobs = [];
  const runs = [];
  const floors = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    jobs.push(await job(file));
    floors.push(await floorRun(file));
    runs.push(await dockerRun(file));
  }
  const m = jobs.map((j) => j.ms);
  const d = runs.map((r) => r.ms);
  const f = floors.map((r) => r.ms);
  const running = jobs.map((j) => j.runMs);
  results.latency = {
    runs: LATENCY_RUNS,
    menagerie: p50p95(m),
    menagerieServerSide: p50p95(jobs.map((j) => j.platformMs)),
    engineRunning: { p50: round(pct(running, 50)) },
    floor: p50p95(f),
    dockerRun: p50p95(d),
  };
  results.latency.overFloorP50Ms = round(results.latency.menagerie.p50 - results.latency.floor.p50);
  results.latency.overDockerRunP50Ms = round(results.latency.menagerie.p50 - results.latency.dockerRun.p50);

  // A cached result: the same file again, once it has run. The upload's own answer is the completed job.
  process.stderr.write(`cache: ${LATENCY_RUNS} uploads of a file that already ran\n`);
  const first = await job(file, { same: true });
  const hits = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const started = performance.now();
    const res = await postUpload(API, ENGINE, await openAsBlob(file), 'sample.bin');
    const answer = await res.json();
    if (res.status !== 201 || answer.status !== 'completed' || !answer.cached)
      throw new Error(`expected a cached answer, got ${res.status} ${JSON.stringify(answer)}`);
    hits.push(performance.now() - started);
  }
  results.cache = {
    runs: LATENCY_RUNS,
    firstRunMs: round(first.ms),
    hit: p50p95(hits),
    realRunP50: results.latency.menagerie.p50,
    savedP50Ms: round(results.latency.menagerie.p50 - pct(hits, 50)),
  };

  results.throughput = [];
  for (const c of LEVELS) {
    const total = Math.max(16, 8 * c);
    process.stderr.write(`throughput: concurrency ${c}, ${total} jobs, then as many Engine API runs and docker runs\n`);
    const c0 = cpuSnapshot();
    const tm = await parallel(c, total / c, () => job(file));
    const c1 = cpuSnapshot();
    const tf = await parallel(c, total / c, () => floorRun(file));
    const c2 = cpuSnapshot();
    const td = await parallel(c, total / c, () => dockerRun(file));
    const c3 = cpuSnapshot();
    results.throughput.push({
      concurrency: c,
      jobs: total,
      menageriePerSec: round(total / tm),
      floorPerSec: round(total / tf),
      dockerPerSec: round(total / td),
      ofFloor: Math.round((tf / tm) * 100) / 100,
      ofDockerRun: Math.round((td / tm) * 100) / 100,
      cpuPerJob: { menagerie: cpuPerJob(c0, c1, total), floor: cpuPerJob(c1, c2, total), dockerRun: cpuPerJob(c2, c3, total) },
    });
  }

  if (API_PID && BIG_UPLOADS > 0) {
    process.stderr.write(`memory: ${BIG_UPLOADS} clients uploading ${BIG_SIZE / 1024 ** 2} MB each\n`);
    const big = await bigFile();
    const baseline = rssMb(API_PID);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(API_PID))), 100);
    const started = performance.now();
    const ids = await Promise.all(
      Array.from({ length: BIG_UPLOADS }, async () => {
        const res = await postUpload(API, ENGINE, await openAsBlob(big), 'big.bin');
        if (res.status !== 201) throw new Error(`big upload: ${res.status} ${await res.text()}`);
        return (await res.json()).jobid;
      }),
    );
    const uploadSec = (performance.now() - started) / 1000;
    clearInterval(sampler);
    results.memory = {
      uploads: BIG_UPLOADS,
      sizeMB: BIG_SIZE / 1024 ** 2,
      apiRssBaselineMB: round(baseline),
      apiRssPeakMB: round(peak),
      growthMB: round(peak - baseline),
      uploadSeconds: round(uploadSec),
    };
    for (const id of ids) {
      for (;;) {
        const j = await (await fetch(`${API}/result/${id}`)).json();
        if (!LIVE_STATUSES.includes(j.status)) break;
        await sleep(200);
      }
    }
  }

  // Platform CPU: what Menagerie's own processes spend per job (the daemon's share is the floor's too).
  const platformMs = (t) =>
    t.cpuPerJob.menagerie.apiMs + t.cpuPerJob.menagerie.workerMs + t.cpuPerJob.menagerie.temporalMs + t.cpuPerJob.menagerie.postgresMs;
  results.platformCpuPerJobMs = Object.fromEntries(results.throughput.map((t) => [`c${t.concurrency}`, platformMs(t)]));
  results.targets = [
    target('latency p50 over the floor', `${results.latency.overFloorP50Ms} ms`, '<= 50 ms', results.latency.overFloorP50Ms <= 50),
    ...results.throughput.map((t) =>
      target(`throughput at concurrency ${t.concurrency}, of the floor`, `${Math.round(t.ofFloor * 100)}%`, '>= 85%', t.ofFloor >= 0.85),
    ),
    ...results.throughput.map((t) =>
      target(
        `platform CPU per job at concurrency ${t.concurrency} (API + worker + Temporal + PostgreSQL)`,
        `${platformMs(t)} ms`,
        '<= 60 ms',
        platformMs(t) <= 60,
      ),
    ),
    target(
      'cached result answered without a container, p50 (a real run above)',
      `${results.cache.hit.p50} ms (real run ${results.cache.realRunP50} ms)`,
      '<= 20 ms',
      results.cache.hit.p50 <= 20,
    ),
    ...(results.memory
      ? [
          target(
            `API RSS growth, ${BIG_UPLOADS} x ${BIG_SIZE / 1024 ** 2} MB uploads`,
            `${results.memory.growthMB} MB`,
            '< 100 MB',
            results.memory.growthMB < 100,
          ),
        ]
      : []),
  ];
  writeResults(OUT, results);
  console.log(JSON.stringify(results, null, 2));
  console.log('\n' + targetLines(results.targets));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
