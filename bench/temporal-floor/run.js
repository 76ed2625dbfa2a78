#!/usr/bin/env node
/**
 * What the Temporal dev server itself costs per workflow, with nothing of
 * Menagerie's: a client starts workflows that run one activity and one local
 * activity (the shape of a Menagerie job, with activities that do nothing),
 * and the dev server's CPU is read from /proc around the run. This bounds the
 * platform CPU a job can reach on this server.
 * Usage: node bench/temporal-floor/run.js [--workflows 200] [--concurrency 8] [--namespace menagerie-bench]
 */
'use strict';
const { readdirSync, readFileSync } = require('node:fs');
const { Client, Connection } = require('@temporalio/client');
const { NativeConnection, Worker, bundleWorkflowCode } = require('@temporalio/worker');
const { parseArgs } = require('../lib/args');

const args = parseArgs();
const WORKFLOWS = Number(args.workflows ?? 200);
const CONCURRENCY = Number(args.concurrency ?? 8);
const NAMESPACE = args.namespace ?? 'menagerie-bench';
const ADDRESS = args.address ?? '127.0.0.1:7233';
const QUEUE = `temporal-floor-${process.pid}`;
const only = args.only?.split('|');

const PORT = ADDRESS.split(':').pop();
const SERVER = new RegExp(`temporal server start-dev .*--port ${PORT}( |$)`);

/** CPU seconds of the dev server on ADDRESS's port, and of this process. */
function cpu() {
  let server = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!SERVER.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      server += (f[11] + f[12]) / 100;
    } catch {
      // gone
    }
  }
  const self = process.cpuUsage();
  return { server, self: (self.user + self.system) / 1e6 };
}

const SEARCH_ATTRIBUTES = ['FloorEngine', 'FloorSha256', 'FloorNode'];
let recordEnd = () => undefined;

async function main() {
  const admin = await Connection.connect({ address: ADDRESS });
  await admin.operatorService
    .addSearchAttributes({ namespace: NAMESPACE, searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k, 2 /* KEYWORD */])) })
    .catch((err) => {
      if (!/already exists/i.test(String(err.message))) throw err;
    });
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows') });
  const nativeConnection = await NativeConnection.connect({ address: ADDRESS });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: NAMESPACE,
    taskQueue: QUEUE,
    workflowBundle: bundle,
    activities: { run: async (x) => x, record: async (x) => recordEnd(x) },
  });
  const other = await Worker.create({
    connection: nativeConnection,
    namespace: NAMESPACE,
    taskQueue: `${QUEUE}.other`,
    activities: { run: async (x) => x },
  });
  const running = Promise.all([worker.run(), other.run()]);
  const client = new Client({ connection: await Connection.connect({ address: ADDRESS }), namespace: NAMESPACE });
  // Ended workflows are seen here, through the local activity, without asking Temporal.
  const ended = new Map();
  recordEnd = ({ id }) => ended.get(id)?.();
  const variants = {
    // start, one local activity, complete; the client waits on the workflow's result (a history long poll)
    'empty, result awaited': { workflow: 'empty', awaitResult: true },
    'one activity, result awaited': { workflow: 'oneActivity', awaitResult: true },
    'one activity': { workflow: 'oneActivity', awaitResult: false },
    'one activity, on a queue of its own': { workflow: 'activityOnOtherQueue', awaitResult: false },
    'one activity, 2 search attributes at start and 1 upserted': { workflow: 'oneActivity', awaitResult: false, searchAttributes: true },
  };
  const results = {};
  for (const [name, v] of Object.entries(variants)) {
    let n = 0;
    const go = async () => {
      const id = `${QUEUE}-${v.workflow}-${n++}`;
      const done = new Promise((resolve) => ended.set(id, resolve));
      const options = {
        taskQueue: QUEUE,
        workflowId: id,
        args: [{ id, upsert: v.searchAttributes ? SEARCH_ATTRIBUTES[2] : null, otherQueue: `${QUEUE}.other` }],
        ...(v.searchAttributes
          ? { searchAttributes: { [SEARCH_ATTRIBUTES[0]]: ['engine'], [SEARCH_ATTRIBUTES[1]]: ['0'.repeat(64)] } }
          : {}),
      };
      if (v.awaitResult) await client.workflow.execute(v.workflow, options);
      else {
        await client.workflow.start(v.workflow, options);
        await done;
      }
      ended.delete(id);
    };
    for (let i = 0; i < 10; i++) await go();
    if (only && !only.includes(name)) continue;
    const before = cpu();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < WORKFLOWS) await go();
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = cpu();
    results[name] = {
      perSec: Math.round((WORKFLOWS / seconds) * 10) / 10,
      temporalServerCpuMsPerWorkflow: Math.round(((after.server - before.server) / WORKFLOWS) * 1000),
      clientAndWorkerCpuMsPerWorkflow: Math.round(((after.self - before.self) / WORKFLOWS) * 1000),
    };
    process.stderr.write(`${name}: ${JSON.stringify(results[name])}\n`);
  }
  worker.shutdown();
  other.shutdown();
  await running;
  await nativeConnection.close();
  console.log(JSON.stringify({ workflows: WORKFLOWS, concurrency: CONCURRENCY, variants: results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
