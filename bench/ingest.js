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
const { Client, Pool } = require('pg');
const { WORKFLOW_TYPE } = require('@menagerie/core');
const { parseArgs } = require('./lib/args');
const { pool } = require('./lib/concurrency');
const { cpuSnapshot: snapshot, cpuPer: cpuPerUnit } = require('./lib/cpu');
const { keepAliveClient } = require('./lib/http');
const { floor } = require('./lib/ingest-floor');
const { printDrain, printFloor, printIngest } = require('./lib/ingest-report');
const { writeResults } = require('./lib/report');
const { pct, round, sleep } = require('./lib/stats');
const { FINAL_STATUSES } = require('./lib/statuses');

const args = parseArgs();
const API = args.api ?? 'http://localhost:8197';
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

// Keep-alive, one socket per client, as a client library would.
const request = keepAliveClient(API, CLIENTS);

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

const cpuSnapshot = () => snapshot({ api: API_PID, worker: WORKER_PID, client: process.pid });
const cpuPer = (before, after, n) => cpuPerUnit(before, after, n, ['api', 'worker', 'client', 'temporal', 'postgres', 'docker']);

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
  const pgPool = new Pool({ ...DB, max: CLIENTS });
  const since = new Date(Date.now() - 1000).toISOString();
  const FLOOR = Number(args.floor ?? 1000);
  if (FLOOR > 0) {
    process.stderr.write(`floor: ${FLOOR} bare workflow starts and row INSERTs from ${CLIENTS} callers\n`);
    results.floor = await floor({
      db,
      pgPool,
      n: FLOOR,
      clients: CLIENTS,
      temporalAddress: TEMPORAL_ADDRESS,
      namespace: NAMESPACE,
      cpuSnapshot,
      cpuPer,
    });
    printFloor(results.floor, FLOOR, CLIENTS);
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
  const backlogAtEnd = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE status <> ALL($1::text[])`, [FINAL_STATUSES]);
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
  printIngest(results.ingest, { uploads: UPLOADS, clients: CLIENTS, enginesIdle: args['engines-idle'] === 'true', target: TARGET });

  const ids = [...warmIds, ...ok.map((u) => u.id)];
  if (SKIP_DRAIN) {
    writeResults(OUT, results);
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
    const ended = FINAL_STATUSES.reduce((a, s) => a + (counts[s] ?? 0), 0);
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
  const base = `WorkflowType='${WORKFLOW_TYPE}' AND TaskQueue='${ENGINE}' AND StartTime >= '${since}'`;
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
  printDrain(results.drain, L, NAMESPACE);

  writeResults(OUT, results);
  await db.end();
  await pgPool.end();
  if (!L.none) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
