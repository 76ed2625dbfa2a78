#!/usr/bin/env node
/**
 * The measured inputs of the capacity model (docs/architecture.md): what one
 * job costs in PostgreSQL and in Temporal's history, read from the jobs a
 * bench run left (database menagerie_bench, namespace menagerie-bench).
 * CPU per job per process comes from bench/run.sh itself (cpuPerJob).
 *
 *   node bench/capacity.js [--db menagerie_bench] [--namespace menagerie-bench] [--sample 50]
 */
'use strict';
const { Client: PgClient } = require('pg');
const { Connection, Client } = require('@temporalio/client');
const { temporal } = require('@temporalio/proto');
const { parseArgs } = require('./lib/args');

const args = parseArgs();
const DB = args.db ?? 'menagerie_bench';
const NAMESPACE = args.namespace ?? 'menagerie-bench';
const SAMPLE = Number(args.sample ?? 50);

async function main() {
  const pg = new PgClient({
    host: '127.0.0.1',
    port: Number(process.env.MENAGERIE_PG_PORT ?? 5432),
    user: 'menagerie',
    password: 'menagerie',
    database: DB,
  });
  await pg.connect();
  const [{ jobs, row_bytes, table_bytes, index_bytes }] = (
    await pg.query(`SELECT count(*)::int AS jobs, avg(pg_column_size(j.*))::int AS row_bytes,
       pg_table_size('jobs') AS table_bytes, pg_indexes_size('jobs') AS index_bytes FROM jobs j`)
  ).rows;
  const { rows: ids } = await pg.query(`SELECT workflow_id FROM jobs WHERE status = 'completed' ORDER BY created_at DESC LIMIT $1`, [
    SAMPLE,
  ]);
  await pg.end();

  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const client = new Client({ connection, namespace: NAMESPACE });
  let events = 0;
  let bytes = 0;
  const types = new Map();
  for (const { workflow_id } of ids) {
    const history = await client.workflow.getHandle(workflow_id).fetchHistory();
    events += history.events.length;
    bytes += temporal.api.history.v1.History.encode(history).finish().length;
    for (const e of history.events) {
      const name = temporal.api.enums.v1.EventType[e.eventType] ?? String(e.eventType);
      types.set(name, (types.get(name) ?? 0) + 1);
    }
  }
  await connection.close();
  const n = ids.length || 1;
  const out = {
    jobs,
    postgres: {
      rowBytes: row_bytes,
      tableBytesPerJob: Math.round(Number(table_bytes) / Math.max(1, jobs)),
      indexBytesPerJob: Math.round(Number(index_bytes) / Math.max(1, jobs)),
    },
    temporal: {
      sampled: ids.length,
      eventsPerJob: Math.round((events / n) * 10) / 10,
      historyBytesPerJob: Math.round(bytes / n),
      eventTypes: Object.fromEntries([...types].map(([k, v]) => [k.replace(/^EVENT_TYPE_/, ''), Math.round((v / n) * 10) / 10])),
    },
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
