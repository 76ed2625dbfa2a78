#!/usr/bin/env node
/**
 * Gathers the parts of the benchmark into bench/results.json (the latency,
 * throughput, CPU and memory run of bench.js, the ingest run, the history
 * run) and prints every figure with its target, met or missed.
 * Usage: node bench/summary.js [--out bench/results.json] [--ingest F] [--history F]
 */
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { parseArgs } = require('./lib/args');
const { targetLines, writeResults } = require('./lib/report');

const args = parseArgs();
const OUT = args.out ?? 'bench/results.json';
const read = (file) => (file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null);
const results = read(OUT) ?? {};
const ingest = read(args.ingest ?? 'bench/results-ingest.json');
const history = read(args.history ?? 'bench/results-history.json');

const targets = (results.targets ?? []).filter((t) => !/^(ingest|history)/.test(t.measure));
if (ingest) {
  const i = ingest.ingest;
  results.ingest = {
    when: ingest.when,
    uploads: ingest.uploads,
    clients: ingest.clients,
    ...i,
    drain: ingest.drain ?? null,
    lost: ingest.lost ?? null,
    floor: ingest.floor ?? null,
  };
  targets.push(
    {
      measure: `ingest: uploads accepted a second (${ingest.uploads} of 1-10 KB from ${ingest.clients} clients, engines busy)`,
      value: `${i.acceptedPerSec}/s`,
      target: `>= ${i.target.acceptedPerSec}/s`,
      met: i.acceptedPerSec >= i.target.acceptedPerSec,
    },
    {
      measure: 'ingest: upload p99',
      value: `${i.latencyMs.p99} ms`,
      target: `<= ${i.target.p99Ms} ms`,
      met: i.latencyMs.p99 <= i.target.p99Ms,
    },
  );
  if (ingest.lost)
    targets.push({
      measure: `ingest: backlog drained with none lost (rows, workflows, results)`,
      value: ingest.lost.none ? 'none lost' : 'LOST',
      target: 'none lost',
      met: ingest.lost.none === true,
    });
}
if (history) {
  results.history = { rows: history.rows, measuredAt: history.measuredAt, loadavg: history.loadavg, shapes: history.shapes };
  for (const [name, shape] of Object.entries(history.shapes)) {
    if (shape.target == null) continue;
    targets.push({
      measure: `history at ${history.rows.toLocaleString('en')} rows: ${name}, p95`,
      value: `${shape.p95} ms`,
      target: `<= ${shape.target} ms`,
      met: shape.met === true,
    });
  }
}
results.targets = targets;
writeResults(OUT, results);
console.log(`\n${targetLines(targets)}`);
console.log(`\n${targets.filter((t) => t.met).length} of ${targets.length} targets met; all figures in ${OUT}`);
