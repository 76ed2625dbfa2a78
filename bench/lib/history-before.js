'use strict';
/**
 * The history benchmark's "before": the query shapes as the API sent them
 * before keyset pagination and the history indexes, timed from a client on
 * the seeded database, and the values they use.
 */
const { fmtMs: fmt } = require('./report');
const { hrNow: now, msSince: ms, quantiles } = require('./stats');
const { ENGINES } = require('./history-seed');

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

/** The baseline the history benchmark compares with, per shape: naive SQL (OFFSET pages, an exact COUNT, a sequential LIKE). */
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

/** Each shape's quantiles over `runs` runs (after one that warms the cache). */
async function timeBefore(c, values, BEFORE_RUNS) {
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

module.exports = { pickValues, timeBefore };
