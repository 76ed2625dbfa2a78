#!/usr/bin/env node
/**
 * History benchmark: GET /jobs, the console's search and /engines' queue
 * counts with millions of rows in `jobs` (target: p95 <= 30 ms each).
 *
 *   node bench/history.js prepare --rows N   seeds the database (once per N), times the
 *                                            pre-index query shapes, then migrates
 *   node bench/history.js measure --api URL  times each shape through the real API
 *
 * Run through bench/history.sh, which owns the database (menagerie_bench_history)
 * and starts the API on port 8198.
 */
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Client } = require('pg');
const { parseArgs } = require('./lib/args');
const { pickValues, timeBefore } = require('./lib/history-before');
const { migrateAll, seed } = require('./lib/history-seed');
const { fmtMs: fmt, writeResults } = require('./lib/report');
const { hrNow: now, msSince: ms, quantiles } = require('./lib/stats');

const [phase, ...rest] = process.argv.slice(2);
const args = parseArgs(rest);
const ROWS = Number(args.rows ?? 10_000_000);
const RUNS = Number(args.runs ?? 200);
const BEFORE_RUNS = Number(args['before-runs'] ?? 5);
const API = args.api ?? 'http://localhost:8198';
const OUT = args.out ?? join(__dirname, 'results-history.json');
const TARGET_MS = 30;
const DB = {
  host: process.env.MENAGERIE_DB_HOST ?? '127.0.0.1',
  port: Number(process.env.MENAGERIE_DB_PORT ?? 5432),
  user: process.env.MENAGERIE_DB_USER ?? 'menagerie',
  password: process.env.MENAGERIE_DB_PASSWORD ?? 'menagerie',
  database: process.env.MENAGERIE_DB_NAME ?? 'menagerie_bench_history',
};
/** This run's facts for measure: the seed, the pre-index figures, and the values the query shapes use. */
const STATE = join(__dirname, '..', '.run', `bench-history-${DB.database}.json`);

async function connect() {
  const c = new Client(DB);
  await c.connect();
  return c;
}

async function prepare() {
  const c = await connect();
  try {
    const state = existsSync(STATE) ? JSON.parse(readFileSync(STATE, 'utf8')) : null;
    const has = await c.query(`SELECT to_regclass('jobs') IS NOT NULL AS t`);
    const rows = has.rows[0].t ? Number((await c.query(`SELECT count(*) AS n FROM jobs`)).rows[0].n) : -1;
    if (state?.rows === ROWS && rows === ROWS && state.before) {
      console.log(
        `${DB.database} already holds ${ROWS.toLocaleString()} seeded rows: reusing them, and the pre-index figures taken when they were seeded (${state.seededAt})`,
      );
    } else {
      const seedSeconds = await seed(c, DB, ROWS);
      const values = await pickValues(c);
      console.log(
        `seeded in ${seedSeconds} s; the query shapes before the history indexes (SQL as the API sent it, timed from a client, ${BEFORE_RUNS} runs each):`,
      );
      const before = await timeBefore(c, values, BEFORE_RUNS);
      const migration = await migrateAll(DB);
      console.log(`migrated (${migration.applied.join(', ')}) in ${migration.seconds} s`);
      await c.query('VACUUM (ANALYZE) jobs');
      const size = (
        await c.query(`SELECT pg_size_pretty(pg_total_relation_size('jobs')) AS total, pg_size_pretty(pg_relation_size('jobs')) AS heap`)
      ).rows[0];
      writeFileSync(
        STATE,
        JSON.stringify(
          { rows: ROWS, seededAt: new Date().toISOString(), seedSeconds, migrationSeconds: migration.seconds, size, values, before },
          null,
          2,
        ),
      );
    }
    await migrateAll(DB); // a newer migration since the seed
  } finally {
    await c.end();
  }
}

async function get(path) {
  const res = await fetch(`${API}${path}`);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function cursorAt(c, where, offset) {
  const { encodeJobCursor } = require('@menagerie/core');
  const row = (
    await c.query(
      `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM jobs ${where} ORDER BY created_at DESC, id DESC OFFSET ${offset} LIMIT 1`,
    )
  ).rows[0];
  return encodeURIComponent(encodeJobCursor({ direction: 'older', createdAt: row.at, id: row.id }));
}

async function measure() {
  const state = JSON.parse(readFileSync(STATE, 'utf8'));
  const v = state.values;
  if (!v.shaEngine) {
    const c0 = await connect(); // a seed from before shaEngine was recorded
    v.shaEngine = (await c0.query(`SELECT engine FROM jobs WHERE sha256 = $1`, [v.uniqueSha])).rows[0].engine;
    await c0.end();
  }
  const c = await connect();
  let middle, middleApk;
  try {
    middle = await cursorAt(c, '', Math.floor(ROWS / 2));
    middleApk = await cursorAt(c, `WHERE engine = 'apktool'`, Math.floor(ROWS / 10));
  } finally {
    await c.end();
  }
  const shapes = {
    // The floor: one row by primary key through the same API, in the same run.
    'floor: one job by id': `/jobs/${(await get('/jobs?limit=1')).items[0].jobid}`,
    'jobs: no filter': '/jobs',
    'jobs: engine': `/jobs?engine=${v.engine}`,
    'jobs: status': `/jobs?status=${v.status}`,
    'jobs: engine + status': `/jobs?engine=${v.engine}&status=${v.status}`,
    'jobs: rare engine + queued': `/jobs?engine=${v.rareEngine}&status=queued`,
    'jobs: sha256 (popular file)': `/jobs?sha256=${v.popularSha}`,
    'jobs: sha256 (unique file)': `/jobs?sha256=${v.uniqueSha}`,
    'jobs: engine + status + sha256': `/jobs?engine=filemeta&status=completed&sha256=${v.popularSha}`,
    'jobs: deep page (cursor, middle)': `/jobs?cursor=${middle}`,
    'jobs: deep page (cursor, engine)': `/jobs?engine=apktool&cursor=${middleApk}`,
    'jobs: last numbered page (100, limit 20)': '/jobs?page=100',
    'jobs: last numbered page (21, limit 100)': '/jobs?page=21&limit=100',
    'jobs: limit 100 (cursor, middle)': `/jobs?limit=100&cursor=${middle}`,
    'console: polling (page 1)': '/console/api/jobs',
    'console: name part, rare': `/console/api/jobs?q=${v.rareName}`,
    'console: name part, common': `/console/api/jobs?q=${v.commonName}`,
    'console: name part, 0.1% of rows': `/console/api/jobs?q=${v.mediumName}`,
    'console: name part, no match': `/console/api/jobs?q=${v.noName}`,
    'console: sha256 prefix': `/console/api/jobs?q=${v.shaPrefix}`,
    'console: sha256 prefix + engine': `/console/api/jobs?engine=${v.shaEngine}&q=${v.shaPrefix}`,
    'engines: queue counts': '/engines',
  };
  console.log(
    `\nthrough the API (${API}), ${RUNS} rounds after 10 warm-up rounds, one client; each round asks every shape once, so load from`,
  );
  console.log(
    `elsewhere on the machine falls on all shapes alike (load average now ${require('node:os')
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}); target p95 <= ${TARGET_MS} ms`,
  );
  const names = Object.keys(shapes);
  const answers = {};
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -10; round < RUNS; round++) {
    for (const name of names) {
      const t0 = now();
      const answer = await get(shapes[name]);
      if (round < 0) answers[name] = answer;
      else samples[name].push(ms(t0));
    }
  }
  const after = {};
  for (const name of names) {
    const answer = answers[name];
    const q = quantiles(samples[name]);
    const total =
      answer.total === undefined ? undefined : { total: answer.total, totalExact: answer.totalExact, items: answer.items.length };
    const before = state.before[name.replace(/ \(cursor, middle\)$/, '')];
    const floor = name.startsWith('floor');
    after[name] = {
      path: shapes[name],
      ...q,
      target: floor ? null : TARGET_MS,
      met: floor ? null : q.p95 <= TARGET_MS,
      ...(total ?? {}),
      before: before ?? null,
    };
    const was = before ? `  (before: p50 ${before.p50.toFixed(1)} ms)` : '';
    const t = total ? `  total ${total.total.toLocaleString()}${total.totalExact ? '' : ' (estimate)'}` : '';
    const verdict = floor ? '(the floor)      ' : `target ${TARGET_MS} ms ${after[name].met ? 'met   ' : 'MISSED'}`;
    console.log(`  ${name.padEnd(42)} p50 ${fmt(q.p50)}  p95 ${fmt(q.p95)}  ${verdict}${t}${was}`);
  }
  const results = {
    benchmark: 'history',
    rows: state.rows,
    seededAt: state.seededAt,
    seedSeconds: state.seedSeconds,
    migrationSeconds: state.migrationSeconds,
    tableSize: state.size,
    targetP95Ms: TARGET_MS,
    measuredAt: new Date().toISOString(),
    loadavg: require('node:os').loadavg(),
    values: v,
    shapes: after,
    beforeNote:
      'before: the SQL the API sent before keyset pagination and the history indexes (rows + exact count), timed from a client on the same database, without HTTP',
  };
  writeResults(OUT, results);
  const missed = Object.entries(after)
    .filter(([, r]) => r.met === false)
    .map(([n]) => n);
  console.log(missed.length ? `\nmissed: ${missed.join('; ')}` : `\nevery shape met p95 <= ${TARGET_MS} ms`);
  console.log(`wrote ${OUT}`);
}

(phase === 'prepare'
  ? prepare()
  : phase === 'measure'
    ? measure()
    : Promise.reject(new Error('usage: history.js prepare|measure [--rows N]'))
).catch((err) => {
  console.error(err);
  process.exit(1);
});
