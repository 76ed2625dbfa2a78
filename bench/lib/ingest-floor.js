'use strict';
/** The ingest benchmark's floor: what Temporal and PostgreSQL alone spend on an upload's two remote writes. */
const { randomUUID } = require('node:crypto');
const { SEARCH_ATTRIBUTES, WORKFLOW_TYPE } = require('@menagerie/core');
const { pool } = require('./concurrency');
const { pct, round } = require('./stats');

/**
 * The floor of an upload's two remote writes, measured here before the uploads: bare
 * StartWorkflowExecution calls (the same type, search attributes and memo as a job, on
 * a task queue no worker polls, ended by a short execution timeout) and bare INSERTs
 * of a jobs row, each from `clients` concurrent callers. What the Temporal dev server and
 * PostgreSQL spend per call bounds the upload rate whatever the API does.
 */
async function floor({ db, pgPool, n, clients, temporalAddress, namespace, cpuSnapshot, cpuPer }) {
  const { Client: TemporalClient, Connection } = require('@temporalio/client');
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new TemporalClient({ connection, namespace });
  const { defineSearchAttributeKey, SearchAttributeType } = require('@temporalio/common');
  const engineKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.engine, SearchAttributeType.KEYWORD);
  const shaKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha256, SearchAttributeType.KEYWORD);
  const sha = 'f'.repeat(64);
  const items = Array.from({ length: n }, (_, i) => i);
  const out = {};

  let c0 = cpuSnapshot();
  let t = performance.now();
  const startMs = await pool(items, clients, async (i) => {
    const s = performance.now();
    await client.workflow.start(WORKFLOW_TYPE, {
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
  const ids = items.map(() => randomUUID());
  const insertMs = await pool(ids, clients, async (id) => {
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

module.exports = { floor };
