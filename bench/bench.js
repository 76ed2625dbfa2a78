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
const { spawn } = require('node:child_process');
const { chownSync, mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync, createWriteStream } = require('node:fs');
const { cpuSnapshot: snapshot, cpuPer } = require('./lib/cpu');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const API = args.api ?? 'http://localhost:8199';
const API_PID = Number(args['api-pid']);
const WORKER_PID = Number(args['worker-pid']);
const OUT = args.out ?? 'bench/results.json';
const LATENCY_RUNS = Number(args.runs ?? 30);
const LEVELS = (args.levels ?? '1,4,8').split(',').map(Number);
const BIG_UPLOADS = Number(args['big-uploads'] ?? 10);
const BIG_SIZE = Number(args['big-size'] ?? 200 * 1024 * 1024);
const ENGINE = 'filemeta';
const IMAGE = 'menagerie/filemeta:stable';
const UID = '1000';
// The flags Menagerie applies for bench/confs/engines.json: its defaults plus the engine's runflags.
const DOCKER_FLAGS = [
  '--network',
  'none',
  '--read-only',
  '--tmpfs',
  '/tmp:rw,nosuid,nodev,size=64m',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--memory',
  '256m',
  '--memory-swap',
  '256m',
  '--cpus',
  '0.5',
  '--pids-limit',
  '64',
  '--log-driver',
  'none',
  '--user',
  UID,
  // Pinned by Menagerie's default policy (libs/engines/src/policy.ts).
  '--ulimit',
  'memlock=8388608',
  '--ulimit',
  'nice=0',
  '--ulimit',
  'rtprio=0',
];

// The floor: the Engine API alone. Its create options come from Menagerie's own builders (the built libs), so
// the flags are the very ones a job gets; what it leaves out is everything of Menagerie's but the container.
const Docker = require('dockerode');
const { DockerRuntime } = require('@menagerie/runtime');
const { parseRunflags } = require('@menagerie/engines');
const BENCH_ENGINE = JSON.parse(
  readFileSync(join(__dirname, 'confs/engines.json'), 'utf8')
    .replace(/{{uid}}/g, UID)
    .replace(/{{regserver}}/g, 'menagerie'),
).engines[0];
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let floorOptions; // set in main: needs the image id

async function floorSetup() {
  const image = await docker.getImage(IMAGE).inspect();
  const runtime = new DockerRuntime({ docker, deployment: 'menagerie-bench-floor' });
  const policy = parseRunflags(BENCH_ENGINE.runflags, [], { user: String(BENCH_ENGINE.user) });
  floorOptions = (hostDir) =>
    runtime.createOptions({
      jobId: 'floor',
      engine: ENGINE,
      image: { id: image.Id, digest: image.Id },
      cmd: [BENCH_ENGINE.cmd],
      user: String(BENCH_ENGINE.user),
      env: [`MENAGERIE_INPUT=${BENCH_ENGINE.inputfilename}`],
      mountpoint: BENCH_ENGINE.mountpoint,
      hostDir,
      policy,
      timeoutMs: 0,
      logLimitBytes: 0,
    });
}

/** A job directory with the input in it, owned by the engine's user, as both baselines get it. */
function jobDir(file, prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'input'), readFileSync(file));
  chownSync(dir, Number(UID), Number(UID));
  chownSync(join(dir, 'input'), Number(UID), Number(UID));
  return dir;
}

/** One run on the Engine API alone: create, attach (the output read to its end), start, wait, remove. */
async function floorRun(file) {
  const dir = jobDir(file, 'menagerie-bench-floor-');
  const started = performance.now();
  const container = await docker.createContainer(floorOptions(dir));
  const output = await container.attach({ stream: true, stdout: true, stderr: true });
  const drained = new Promise((resolve) => output.on('end', resolve).on('close', resolve).resume());
  await container.start();
  const { StatusCode } = await container.wait();
  await drained;
  await container.remove({ force: true, v: true });
  if (StatusCode !== 0) throw new Error(`floor run exited ${StatusCode}`);
  const ms = performance.now() - started;
  rmSync(dir, { recursive: true, force: true });
  return { ms };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const round = (x) => Math.round(x * 10) / 10;

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
  const form = new FormData();
  const bytes = readFileSync(file);
  form.append('upload', new Blob(same ? [bytes] : [bytes, `\n#${process.pid}-${jobsSent++}\n`]), 'sample.bin');
  const res = await fetch(`${API}/${ENGINE}/upload`, { method: 'POST', body: form });
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
    if (['failed', 'timed_out', 'cancelled'].includes(j.status)) throw new Error(`job ${jobid} ${j.status}: ${j.error}`);
  }
}

function dockerRun(file) {
  const dir = jobDir(file, 'menagerie-bench-run-');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(
      'docker',
      [
        'run',
        '--rm',
        ...DOCKER_FLAGS,
        '-v',
        `${dir}:/var/data`,
        '-e',
        'MENAGERIE_MOUNTPOINT=/var/data',
        '-e',
        'MENAGERIE_INPUT=input',
        IMAGE,
        '/engine/run.sh',
      ],
      { stdio: 'ignore' },
    );
    p.on('exit', (code) => {
      const ms = performance.now() - started;
      rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve({ ms });
      else reject(new Error(`docker run exited ${code}`));
    });
  });
}

async function parallel(clients, perClient, fn) {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < perClient; i++) await fn();
    }),
  );
  return (performance.now() - started) / 1000;
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

function target(measure, value, wanted, met) {
  return { measure, value, target: wanted, met };
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
  results.latency = {
    runs: LATENCY_RUNS,
    menagerie: { p50: round(pct(m, 50)), p95: round(pct(m, 95)) },
    menagerieServerSide: {
      p50: round(
        pct(
          jobs.map((j) => j.platformMs),
          50,
        ),
      ),
      p95: round(
        pct(
          jobs.map((j) => j.platformMs),
          95,
        ),
      ),
    },
    engineRunning: {
      p50: round(
        pct(
          jobs.map((j) => j.runMs),
          50,
        ),
      ),
    },
    floor: { p50: round(pct(f, 50)), p95: round(pct(f, 95)) },
    dockerRun: { p50: round(pct(d, 50)), p95: round(pct(d, 95)) },
  };
  results.latency.overFloorP50Ms = round(results.latency.menagerie.p50 - results.latency.floor.p50);
  results.latency.overDockerRunP50Ms = round(results.latency.menagerie.p50 - results.latency.dockerRun.p50);

  // A cached result: the same file again, once it has run. The upload's own answer is the completed job.
  process.stderr.write(`cache: ${LATENCY_RUNS} uploads of a file that already ran\n`);
  const first = await job(file, { same: true });
  const hits = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const started = performance.now();
    const form = new FormData();
    form.append('upload', await openAsBlob(file), 'sample.bin');
    const res = await fetch(`${API}/${ENGINE}/upload`, { method: 'POST', body: form });
    const answer = await res.json();
    if (res.status !== 201 || answer.status !== 'completed' || !answer.cached)
      throw new Error(`expected a cached answer, got ${res.status} ${JSON.stringify(answer)}`);
    hits.push(performance.now() - started);
  }
  results.cache = {
    runs: LATENCY_RUNS,
    firstRunMs: round(first.ms),
    hit: { p50: round(pct(hits, 50)), p95: round(pct(hits, 95)) },
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
        const form = new FormData();
        form.append('upload', await openAsBlob(big), 'big.bin');
        const res = await fetch(`${API}/${ENGINE}/upload`, { method: 'POST', body: form });
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
        if (!['queued', 'running'].includes(j.status)) break;
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
  writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
  console.log(
    '\n' + results.targets.map((t) => `${t.met ? 'met    ' : 'MISSED '} ${t.measure}: ${t.value} (target ${t.target})`).join('\n'),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
