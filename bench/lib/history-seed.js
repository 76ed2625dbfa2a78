'use strict';
/**
 * The history benchmark's seed: N rows in jobs with a year of history, engines
 * with a skewed spread, a backlog, popular files, bulk-loaded without indexes;
 * and the schema as it was before the history indexes, then migrated.
 */
const { hrNow: now, msSince: ms, round } = require('./stats');

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
async function migrateBefore(DB) {
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

async function migrateAll(DB) {
  const { createDataSource, runMigrations } = require('@menagerie/db');
  const ds = createDataSource(DB, 2);
  await ds.initialize();
  const t0 = now();
  const applied = await runMigrations(ds);
  const seconds = round(ms(t0) / 1000, 2);
  await ds.destroy();
  return { applied, seconds };
}

/** Seeds `rows` rows into the database `DB` names (connected as `c`); the seconds it took. */
async function seed(c, DB, ROWS) {
  console.log(`seeding ${ROWS.toLocaleString()} rows into ${DB.database} (once; reruns reuse them)`);
  await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  await migrateBefore(DB);
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
  return round(ms(t0) / 1000, 2);
}

module.exports = { ENGINES, seed, migrateAll };
