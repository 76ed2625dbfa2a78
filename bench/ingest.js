#!/usr/bin/env node
/**
 * Ingest benchmark: N small uploads (1–10 KB, random) from C concurrent
 * clients while the engines work through the backlog those uploads make.
 * Prints accepted/s and upload latency with their targets, the CPU each
 * process spent per upload, then waits for the backlog to drain and checks
 * that no job was lost: its row (completed), its workflow, its result.
 * Run through bench/ingest.sh, which starts a dedicated API and worker.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { randomBytes, randomInt } = require('node:crypto');
const http = require('node:http');
const { writeFileSync } = require('node:fs');
const { cpuSnapshot: snapshot, cpuPer: cpuPerUnit } = require('./lib/cpu');
const { Client, Pool } = require('pg');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const API = new URL(args.api ?? 'http://localhost:8197');
const UPLOADS = Number(args.uploads ?? 5000);
const CLIENTS = Number(args.clients ?? 20);
const OUT = args.out ?? 'bench/results-ingest.json';
const API_PID = Number(args['api-pid']);
const WORKER_PID = Number(args['worker-pid']);
const PROFILE = args.profile === 'true'; // SIGWINCH to the API around the upload phase (bench/cpu-profile.js)
const TEMPORAL_BIN = args['temporal-bin'] ?? '.cache/bin/temporal';
const TEMPORAL_ADDRESS = args['temporal-address'] ?? '127.0.0.1:7233';
const NAMESPACE = args.namespace ?? 'menagerie-bench-ingest';
const DRAIN_TIMEOUT_S = Number(args['drain-timeout'] ?? 3600);
const SKIP_DRAIN = args['skip-drain'] === 'true';
const LINK_SAMPLE = Number(args['link-sample'] ?? 100);
const ENGINE = 'filemeta';
const ENGINE_SLOTS = Number(args['engine-slots'] ?? 8); // "workers" of filemeta in bench/confs/engines.json
const DB = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: 'menagerie',
  password: 'menagerie',
  database: args.database ?? 'menagerie_bench_ingest',
};
const TARGET = { acceptedPerSec: 300, p99Ms: 200 };
const FINAL = ['completed', 'failed', 'timed_out', 'cancelled'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const round = (x) => Math.round(x * 10) / 10;
const mark = (ok) => (ok ? 'ok  ' : 'MISS');

// Keep-alive, one socket per client, as a client library would.
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

function request(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: API.hostname, port: API.port, method, path, agent, headers: body ? { ...headers, 'content-length': body.length } : headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const BOUNDARY = '----menagerie-ingest-bench';
/** A multipart body built once, before the clock runs, so the client spends as little CPU as it can while measuring. */
function multipart(i) {
  const data = randomBytes(randomInt(1024, 10 * 1024 + 1));
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="ingest-${i}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    data,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

async function upload(body) {
  const t = performance.now();
  const res = await request('POST', `/${ENGINE}/upload`, body, { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` });
  const ms = performance.now() - t;
  if (res.status !== 201) return { ms, error: `${res.status} ${res.body.toString().slice(0, 200)}` };
  return { ms, id: JSON.parse(res.body).jobid };
}

/** Runs `fn` over `items` with `clients` concurrent loops. */
async function pool(items, clients, fn) {
  let next = 0;
  const out = new Array(items.length);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const cpuSnapshot = () => snapshot({ api: API_PID, worker: WORKER_PID, client: process.pid });
const cpuPer = (before, after, n) => cpuPerUnit(before, after, n, ['api', 'worker', 'client', 'temporal', 'postgres', 'docker']);

/**
 * The floor of an upload's two remote writes, measured here before the uploads: bare
 * StartWorkflowExecution calls (the same type, search attributes and memo as a job, on
 * a task queue no worker polls, ended by a short execution timeout) and bare INSERTs
 * of a jobs row, each from CLIENTS concurrent callers. What the Temporal dev server and
 * PostgreSQL spend per call bounds the upload rate whatever the API does.
 */
async function floor(db, n) {
  const { Client: TemporalClient, Connection } = require('@temporalio/client');
  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  const client = new TemporalClient({ connection, namespace: NAMESPACE });
  const { defineSearchAttributeKey, SearchAttributeType } = require('@temporalio/common');
  const engineKey = defineSearchAttributeKey('MenagerieEngine', SearchAttributeType.KEYWORD);
  const shaKey = defineSearchAttributeKey('MenagerieSha256', SearchAttributeType.KEYWORD);
  const sha = 'f'.repeat(64);
  const items = Array.from({ length: n }, (_, i) => i);
  const out = {};

  let c0 = cpuSnapshot();
  let t = performance.now();
  const startMs = await pool(items, CLIENTS, async (i) => {
    const s = performance.now();
    await client.workflow.start('engineJob', {
      workflowId: `ingest-floor-${Date.now()}-${i}`,
      taskQueue: 'ingest-floor-nobody',
      workflowExecutionTimeout: '2s',
      args: [{ jobId: '00000000-0000-4000-8000-000000000000', engine: { name: 'nobody' }, originalName: `floor-${i}.bin` }],
      typedSearchAttributes: [
        { key: engineKey, value: 'nobody' },
        { key: shaKey, value: sha },
      ],
      memo: { engine: 'nobody', sha256: sha, originalName: `floor-${i}.bin` },
    });
    return performance.now() - s;
  });
  let sec = (performance.now() - t) / 1000;
  let c1 = cpuSnapshot();
  out.temporalStart = {
    calls: n,
    perSec: round(n / sec),
    p50Ms: round(pct(startMs, 50)),
    p99Ms: round(pct(startMs, 99)),
    cpuPerCall: cpuPer(c0, c1, n),
  };
  await connection.close();

  c0 = cpuSnapshot();
  t = performance.now();
  const ids = items.map(() => require('node:crypto').randomUUID());
  const insertMs = await pool(ids, CLIENTS, async (id) => {
    const s = performance.now();
    const c = await pgPool.connect();
    try {
      await c.query(
        `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id) VALUES ($1, 'nobody', 'completed', 'floor.bin', 1, $2, 'none', $3)`,
        [id, sha, `job-${id}`],
      );
    } finally {
      c.release();
    }
    return performance.now() - s;
  });
  sec = (performance.now() - t) / 1000;
  c1 = cpuSnapshot();
  out.pgInsert = {
    calls: n,
    perSec: round(n / sec),
    p50Ms: round(pct(insertMs, 50)),
    p99Ms: round(pct(insertMs, 99)),
    cpuPerCall: cpuPer(c0, c1, n),
  };
  await db.query('DELETE FROM jobs WHERE id = ANY($1::uuid[])', [ids]);
  return out;
}
let pgPool;

function workflowCount(query) {
  const out = execFileSync(TEMPORAL_BIN, ['workflow', 'count', '--namespace', NAMESPACE, '--address', TEMPORAL_ADDRESS, '--query', query], {
    encoding: 'utf8',
  });
  const m = /Total:\s*(\d+)/.exec(out);
  if (!m) throw new Error(`unexpected output of temporal workflow count: ${out}`);
  return Number(m[1]);
}

async function main() {
  const results = {
    when: new Date().toISOString(),
    machine: { cpus: require('node:os').cpus().length },
    uploads: UPLOADS,
    clients: CLIENTS,
    sizes: '1–10 KB random',
  };
  const db = new Client(DB);
  await db.connect();
  pgPool = new Pool({ ...DB, max: CLIENTS });
  const since = new Date(Date.now() - 1000).toISOString();
  const FLOOR = Number(args.floor ?? 1000);
  if (FLOOR > 0) {
    process.stderr.write(`floor: ${FLOOR} bare workflow starts and row INSERTs from ${CLIENTS} callers\n`);
    results.floor = await floor(db, FLOOR);
    const f = results.floor;
    console.log(`\nfloor (engines idle): ${FLOOR} calls from ${CLIENTS} callers`);
    console.log(
      `       bare StartWorkflowExecution ${String(f.temporalStart.perSec).padStart(7)}/s  p50 ${f.temporalStart.p50Ms} ms  p99 ${f.temporalStart.p99Ms} ms  CPU ms per call: temporal ${f.temporalStart.cpuPerCall.temporalMs}, machine ${f.temporalStart.cpuPerCall.machineMs}`,
    );
    console.log(
      `       bare INSERT of a jobs row   ${String(f.pgInsert.perSec).padStart(7)}/s  p50 ${f.pgInsert.p50Ms} ms  p99 ${f.pgInsert.p99Ms} ms  CPU ms per call: postgres ${f.pgInsert.cpuPerCall.postgresMs}, machine ${f.pgInsert.cpuPerCall.machineMs}`,
    );
    await sleep(3000); // the floor's workflows time out (2 s) before the uploads begin
  }

  process.stderr.write(`preparing ${UPLOADS} bodies of 1–10 KB\n`);
  const warm = Array.from({ length: CLIENTS * 2 }, (_, i) => multipart(`warm-${i}`));
  const bodies = Array.from({ length: UPLOADS }, (_, i) => multipart(i));
  results.bytes = bodies.reduce((a, b) => a + b.length, 0);

  process.stderr.write(`warm-up: ${warm.length} uploads\n`);
  const warmed = await pool(warm, CLIENTS, upload);
  const warmErrors = warmed.filter((u) => u.error);
  if (warmErrors.length) throw new Error(`warm-up uploads failed: ${warmErrors[0].error}`);
  const warmIds = warmed.map((u) => u.id);

  process.stderr.write(`ingest: ${UPLOADS} uploads from ${CLIENTS} clients\n`);
  if (PROFILE && API_PID) process.kill(API_PID, 'SIGWINCH');
  const c0 = cpuSnapshot();
  const started = performance.now();
  const startedAt = new Date();
  const done = await pool(bodies, CLIENTS, upload);
  const seconds = (performance.now() - started) / 1000;
  const endedAt = new Date();
  const c1 = cpuSnapshot();
  if (PROFILE && API_PID) process.kill(API_PID, 'SIGWINCH');

  const ok = done.filter((u) => u.id);
  const errors = done.filter((u) => u.error);
  const ms = done.map((u) => u.ms);
  const backlogAtEnd = await db.query(
    `SELECT count(*)::int AS n FROM jobs WHERE status NOT IN ('completed','failed','timed_out','cancelled')`,
  );
  results.ingest = {
    seconds: round(seconds),
    accepted: ok.length,
    refused: errors.length,
    firstErrors: [...new Set(errors.map((e) => e.error))].slice(0, 5),
    acceptedPerSec: round(ok.length / seconds),
    latencyMs: { p50: round(pct(ms, 50)), p95: round(pct(ms, 95)), p99: round(pct(ms, 99)), max: round(Math.max(...ms)) },
    backlogWhenUploadsEnded: backlogAtEnd.rows[0].n,
    cpuPerUpload: cpuPer(c0, c1, UPLOADS),
    target: TARGET,
  };
  const ing = results.ingest;
  console.log(
    `\ningest: ${UPLOADS} uploads of 1–10 KB from ${CLIENTS} clients, ${ing.seconds} s, ${args['engines-idle'] === 'true' ? 'worker paused: the API alone' : 'engines busy'} (backlog ${ing.backlogWhenUploadsEnded} at the end)`,
  );
  console.log(
    `  ${mark(ing.acceptedPerSec >= TARGET.acceptedPerSec)} accepted/s      ${String(ing.acceptedPerSec).padStart(8)}   target >= ${TARGET.acceptedPerSec}`,
  );
  console.log(`       upload p50       ${String(ing.latencyMs.p50).padStart(8)} ms`);
  console.log(`       upload p95       ${String(ing.latencyMs.p95).padStart(8)} ms`);
  console.log(
    `  ${mark(ing.latencyMs.p99 <= TARGET.p99Ms)} upload p99       ${String(ing.latencyMs.p99).padStart(8)} ms  target <= ${TARGET.p99Ms} ms`,
  );
  console.log(`  ${mark(errors.length === 0)} refused          ${String(errors.length).padStart(8)}   ${ing.firstErrors.join('; ')}`);
  console.log(
    `       CPU ms per upload: ${Object.entries(ing.cpuPerUpload)
      .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v}`)
      .join(', ')}`,
  );

  const ids = [...warmIds, ...ok.map((u) => u.id)];
  if (SKIP_DRAIN) {
    writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
    await db.end();
    await pgPool.end();
    return;
  }

  process.stderr.write(`drain: waiting for ${ids.length} jobs to end\n`);
  const deadline = Date.now() + DRAIN_TIMEOUT_S * 1000;
  let counts = {};
  let polls = 0;
  for (;;) {
    const r = await db.query('SELECT status, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status', [ids]);
    counts = Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
    const ended = FINAL.reduce((a, s) => a + (counts[s] ?? 0), 0);
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    if (ended === rows || Date.now() > deadline) break;
    if (++polls % 15 === 0) process.stderr.write(`  ${ended}/${ids.length} ended\n`);
    await sleep(2000);
  }

  // The pace from the rows themselves: completions while uploads arrived, and after.
  const pace = (
    await db.query(
      `SELECT count(*) FILTER (WHERE finished_at <= $2)::int AS during,
            count(*) FILTER (WHERE finished_at > $2)::int AS after,
            max(finished_at) AS last, min(started_at) AS first,
            avg(EXTRACT(EPOCH FROM finished_at - started_at)) AS run_s
       FROM jobs WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL AND finished_at >= $3`,
      [ids, endedAt, startedAt],
    )
  ).rows[0];
  const afterSeconds = (new Date(pace.last) - endedAt) / 1000;
  results.drain = {
    jobs: ids.length,
    seconds: round((new Date(pace.last) - startedAt) / 1000),
    perSecWhileUploading: round(pace.during / seconds),
    perSecAfterUploads: afterSeconds > 0 ? round(pace.after / afterSeconds) : null,
    perSecOverall: round((pace.during + pace.after) / ((new Date(pace.last) - startedAt) / 1000)),
    meanRunSeconds: round(Number(pace.run_s) * 100) / 100,
    engineSlots: ENGINE_SLOTS,
    slotsOverMeanRun: round(ENGINE_SLOTS / Number(pace.run_s)),
  };

  // None lost: a row, completed; a workflow, completed; a result the API serves.
  const rows = Object.values(counts).reduce((a, b) => a + b, 0);
  let workflows = -1;
  let workflowsCompleted = -1;
  const base = `WorkflowType='engineJob' AND TaskQueue='${ENGINE}' AND StartTime >= '${since}'`;
  for (let i = 0; i < 30; i++) {
    workflows = workflowCount(base);
    workflowsCompleted = workflowCount(`${base} AND ExecutionStatus='Completed'`);
    if (workflowsCompleted >= ids.length) break;
    await sleep(1000); // visibility lags the executions a little
  }
  const views = await pool(ids, CLIENTS, async (id) => {
    const r = await request('GET', `/result/${id}`);
    return r.status === 200 ? JSON.parse(r.body) : { status: `http ${r.status}` };
  });
  const withResult = views.filter((v) => v.status === 'completed' && v.result && v.resultUrl);
  const sample = withResult.filter((_, i) => i % Math.max(1, Math.floor(withResult.length / LINK_SAMPLE)) === 0).slice(0, LINK_SAMPLE);
  const links = await pool(sample, CLIENTS, async (v) => {
    const r = await request('GET', `/link/${v.jobid}`);
    return r.status === 200 && r.body.length === v.result.size;
  });
  results.lost = {
    accepted: ids.length,
    rows,
    rowsCompleted: counts.completed ?? 0,
    rowStatuses: counts,
    workflows,
    workflowsCompleted,
    resultsCompleted: withResult.length,
    linksSampled: sample.length,
    linksServed: links.filter(Boolean).length,
  };
  const L = results.lost;
  L.none =
    L.rows === L.accepted &&
    L.rowsCompleted === L.accepted &&
    L.workflowsCompleted === L.accepted &&
    L.resultsCompleted === L.accepted &&
    L.linksServed === L.linksSampled;
  const d = results.drain;
  console.log(`\ndrain: ${d.jobs} jobs ended ${d.seconds} s after the first upload`);
  console.log(`       jobs/s while uploading   ${String(d.perSecWhileUploading).padStart(6)}`);
  console.log(`       jobs/s after uploads     ${String(d.perSecAfterUploads).padStart(6)}   (the engines' pace with no ingest)`);
  console.log(
    `       jobs/s overall           ${String(d.perSecOverall).padStart(6)}   engine slots / mean run = ${d.engineSlots} / ${d.meanRunSeconds} s = ${d.slotsOverMeanRun}`,
  );
  console.log(
    `  ${mark(L.rows === L.accepted && L.rowsCompleted === L.accepted)} rows completed   ${L.rowsCompleted}/${L.accepted}  ${JSON.stringify(L.rowStatuses)}`,
  );
  console.log(
    `  ${mark(L.workflowsCompleted === L.accepted)} workflows done   ${L.workflowsCompleted}/${L.accepted}  (${L.workflows} started in namespace ${NAMESPACE} since the run began)`,
  );
  console.log(`  ${mark(L.resultsCompleted === L.accepted)} /result results ${L.resultsCompleted}/${L.accepted}`);
  console.log(
    `  ${mark(L.linksServed === L.linksSampled)} /link served    ${L.linksServed}/${L.linksSampled} sampled, size as /result says`,
  );
  console.log(`  ${mark(L.none)} none lost`);

  writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
  await db.end();
  await pgPool.end();
  if (!L.none) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
