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

const [phase, ...rest] = process.argv.slice(2);
const args = Object.fromEntries(rest.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
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

// Engines with a skewed spread; the first is configured in bench/confs (so /engines counts it).
const ENGINES = [
  ['filemeta', 0.3],
  ['apktool', 0.2],
  ['strings', 0.15],
  ['yara', 0.12],
  ['exiftool', 0.1],
  ['peinfo', 0.08],
  ['olevba', 0.04],
  ['binwalk', 0.01],
];
const WORDS = ['invoice', 'report', 'setup', 'photo', 'backup', 'contract', 'sample', 'driver', 'update', 'archive'];
const EXTS = ['.pdf', '.apk', '.exe', '.docx', '.zip', '.jpg', '.bin'];
const QUEUED = 2000; // the newest rows: a backlog
const RUNNING = 16;
const POPULAR = 1000; // 20% of uploads are one of these files (same sha256)
const CHUNK = 500_000;

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const now = () => process.hrtime.bigint();
function quantiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { p50: round(q(0.5)), p95: round(q(0.95)), max: round(s[s.length - 1]), runs: s.length };
}
const round = (x) => Math.round(x * 100) / 100;

async function connect() {
  const c = new Client(DB);
  await c.connect();
  return c;
}

/** One row per N: g from 1 (oldest) to N (newest), a year of history, ~3 s apart at 10 M. */
function seedSql(from, to, n) {
  let acc = 0;
  const engine = ENGINES.map(([name, w]) => `WHEN r1 < ${(acc += w).toFixed(4)} THEN '${name}'`).join(' ');
  const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]`;
  const exts = `ARRAY[${EXTS.map((w) => `'${w}'`).join(',')}]`;
  return `
    INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, image_digest, workflow_id, run_id, created_at,
                      started_at, finished_at, exit_code, error, log_tail, result_name, result_size, result_mime, node, expired_at)
    SELECT id, engine, status, name, size, sha, 'menagerie/' || engine || ':stable', 'sha256:' || md5(engine) || md5(engine), 'job-' || id, NULL, created,
           CASE WHEN status = 'queued' THEN NULL ELSE created + interval '0.4 s' END,
           CASE WHEN status IN ('queued', 'running') THEN NULL ELSE created + interval '2.1 s' END,
           CASE status WHEN 'completed' THEN 0 WHEN 'failed' THEN 1 END,
           CASE status WHEN 'failed' THEN 'the engine exited with 1' WHEN 'timed_out' THEN 'timed out' END,
           CASE WHEN status IN ('queued', 'running') THEN NULL ELSE 'processing ' || name || E'\\ndone' END,
           CASE WHEN status = 'completed' THEN name || '.' || engine || '.json' END,
           CASE WHEN status = 'completed' THEN 200 + g % 5000 END,
           CASE WHEN status = 'completed' THEN 'application/json' END,
           CASE WHEN status = 'queued' THEN NULL ELSE 'node-' || (g % 3) END,
           CASE WHEN created < now() - interval '30 days' AND status NOT IN ('queued', 'running') THEN created + interval '30 days' END
    FROM (
      SELECT g, gen_random_uuid() AS id,
             CASE ${engine} ELSE 'binwalk' END AS engine,
             CASE WHEN g > ${n - QUEUED} THEN 'queued' WHEN g > ${n - QUEUED - RUNNING} THEN 'running'
                  WHEN r2 < 0.90 THEN 'completed' WHEN r2 < 0.96 THEN 'failed' WHEN r2 < 0.98 THEN 'timed_out' ELSE 'cancelled' END AS status,
             CASE WHEN g % 10 = 3 THEN 'IMG_' || substr(md5(g::text), 1, 8) || '.jpg'
                  ELSE (${words})[1 + g % ${WORDS.length}] || '-' || ((g::bigint * 7919) % 99991) || (${exts})[1 + (g / 10) % ${EXTS.length}] END AS name,
             1 + (r3 * 10000000)::bigint AS size,
             encode(sha256(convert_to(CASE WHEN r3 < 0.2 THEN 'popular-' || (g % ${POPULAR}) ELSE 'unique-' || g END, 'UTF8')), 'hex') AS sha,
             now() - make_interval(secs => (${n} - g)::float8 * (31536000.0 / ${n}) + r2 * 0.5) AS created
      FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3 FROM generate_series(${from}, ${to}) AS g) AS r
    ) AS s`;
}

/** The schema as it was before the history indexes: every migration older than them. */
async function migrateBefore() {
  const { DataSource } = require('typeorm');
  const { MIGRATIONS, JobEntity, NodeEntity } = require('@menagerie/db');
  const before = MIGRATIONS.filter((m) => !/^HistoryIndexes/.test(m.name));
  const ds = new DataSource({
    type: 'postgres',
    ...DB,
    username: DB.user,
    entities: [JobEntity, NodeEntity],
    migrations: before,
    migrationsTableName: 'migrations',
    logging: ['error'],
  });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'all' });
  await ds.destroy();
}

async function migrateAll() {
  const { createDataSource, runMigrations } = require('@menagerie/db');
  const ds = createDataSource(DB, 2);
  await ds.initialize();
  const t0 = now();
  const applied = await runMigrations(ds);
  const seconds = round(ms(t0) / 1000);
  await ds.destroy();
  return { applied, seconds };
}

async function seed(c) {
  console.log(`seeding ${ROWS.toLocaleString()} rows into ${DB.database} (once; reruns reuse them)`);
  await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  await migrateBefore();
  // Bulk load without indexes, then build them sorted: much faster than 10 M random btree inserts.
  const constraints = (
    await c.query(
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'jobs'::regclass AND contype IN ('p', 'u')`,
    )
  ).rows;
  const indexes = (
    await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'jobs' AND indexname <> ALL($1)`, [
      constraints.map((r) => r.conname),
    ])
  ).rows;
  for (const i of indexes) await c.query(`DROP INDEX ${i.indexname}`);
  for (const k of constraints) await c.query(`ALTER TABLE jobs DROP CONSTRAINT ${k.conname}`);
  await c.query(`SET synchronous_commit = off; SET maintenance_work_mem = '1GB'`);
  const t0 = now();
  for (let from = 1; from <= ROWS; from += CHUNK) {
    const to = Math.min(ROWS, from + CHUNK - 1);
    await c.query(seedSql(from, to, ROWS));
    process.stdout.write(`\r  ${to.toLocaleString()} rows, ${Math.round(ms(t0) / 1000)} s`);
  }
  process.stdout.write('\n');
  const t1 = now();
  for (const k of constraints) await c.query(`ALTER TABLE jobs ADD CONSTRAINT ${k.conname} ${k.def}`);
  for (const i of indexes) await c.query(i.indexdef);
  console.log(`  the schema's indexes rebuilt in ${Math.round(ms(t1) / 1000)} s`);
  await c.query('VACUUM (ANALYZE) jobs');
  return round(ms(t0) / 1000);
}

/** Values the query shapes use: taken from the seeded rows so that each finds something. */
async function pickValues(c) {
  const one = async (sql) => (await c.query(sql)).rows[0];
  const popular = await one(`SELECT sha256 FROM jobs WHERE sha256 = encode(sha256(convert_to('popular-7', 'UTF8')), 'hex') LIMIT 1`);
  let unique;
  for (const { sha256 } of (await c.query(`SELECT sha256 FROM jobs ORDER BY created_at DESC LIMIT 20 OFFSET 5000`)).rows) {
    if (Number((await c.query(`SELECT count(*) AS n FROM jobs WHERE sha256 = $1`, [sha256])).rows[0].n) === 1) unique = { sha256 };
    if (unique) {
      unique.engine = (await c.query(`SELECT engine FROM jobs WHERE sha256 = $1`, [sha256])).rows[0].engine;
      break;
    }
  }
  return {
    engine: 'apktool',
    rareEngine: 'binwalk',
    status: 'failed',
    popularSha: popular.sha256,
    uniqueSha: unique.sha256,
    shaPrefix: unique.sha256.slice(0, 10),
    shaEngine: unique.engine,
    rareName: 'report-4242',
    commonName: 'invoice',
    mediumName: 'setup-12',
    noName: 'zzqxjw',
  };
}

/** The SQL the API sent before this change (OFFSET pages, an exact COUNT, a sequential LIKE), per shape. */
function beforeShapes(v) {
  const page = (where, params, offset = 0) => ({
    sql: [
      `SELECT * FROM jobs ${where} ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET ${offset}`,
      `SELECT count(DISTINCT id) FROM jobs ${where}`, // TypeORM's getManyAndCount
    ],
    params,
  });
  const q = (name, extra = '', params = []) => {
    const hex = /^[0-9a-f]+$/.test(name);
    const n = params.length;
    return page(`WHERE ${extra}${hex ? `(original_name ILIKE $${n + 1} OR sha256 LIKE $${n + 2})` : `original_name ILIKE $${n + 1}`}`, [
      ...params,
      `%${name}%`,
      ...(hex ? [`${name}%`] : []),
    ]);
  };
  return {
    'jobs: no filter': page('', []),
    'jobs: engine': page('WHERE engine = $1', [v.engine]),
    'jobs: status': page('WHERE status = $1', [v.status]),
    'jobs: engine + status': page('WHERE engine = $1 AND status = $2', [v.engine, v.status]),
    'jobs: rare engine + queued': page('WHERE engine = $1 AND status = $2', [v.rareEngine, 'queued']),
    'jobs: sha256 (popular file)': page('WHERE sha256 = $1', [v.popularSha]),
    'jobs: engine + status + sha256': page('WHERE engine = $1 AND status = $2 AND sha256 = $3', ['filemeta', 'completed', v.popularSha]),
    'jobs: deep page': page('', [], 4999 * 20), // page 5000
    'console: name part, rare': q(v.rareName),
    'console: name part, common': q(v.commonName),
    'console: name part, 0.1% of rows': q(v.mediumName),
    'console: name part, no match': q(v.noName),
    'console: sha256 prefix': q(v.shaPrefix),
    'console: sha256 prefix + engine': q(v.shaPrefix, 'engine = $1 AND ', [v.shaEngine]),
    'engines: queue counts': {
      sql: ENGINES.flatMap(([e]) => [
        `SELECT count(*) FROM jobs WHERE engine = '${e}' AND status IN ('queued')`,
        `SELECT count(*) FROM jobs WHERE engine = '${e}' AND status IN ('running')`,
      ]),
      params: [],
    },
  };
}

async function timeBefore(c, values) {
  const out = {};
  for (const [name, shape] of Object.entries(beforeShapes(values))) {
    const samples = [];
    for (let i = 0; i < BEFORE_RUNS + 1; i++) {
      const t0 = now();
      for (const sql of shape.sql) await c.query(sql, sql.includes('$') ? shape.params : []);
      if (i > 0) samples.push(ms(t0)); // the first warms the cache
    }
    out[name] = quantiles(samples);
    console.log(`  before  ${name.padEnd(36)} p50 ${fmt(out[name].p50)}  p95 ${fmt(out[name].p95)}`);
  }
  return out;
}

const fmt = (x) => `${x.toFixed(1).padStart(8)} ms`;

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
      const seedSeconds = await seed(c);
      const values = await pickValues(c);
      console.log(
        `seeded in ${seedSeconds} s; the query shapes before the history indexes (SQL as the API sent it, timed from a client, ${BEFORE_RUNS} runs each):`,
      );
      const before = await timeBefore(c, values);
      const migration = await migrateAll();
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
    await migrateAll(); // a newer migration since the seed
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
  writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
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
