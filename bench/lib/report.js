'use strict';
/** How the benchmarks write and print their figures. */
const { writeFileSync } = require('node:fs');

/** A figure with its target, as results.json keeps it and bench/summary.js gathers it. */
function target(measure, value, wanted, met) {
  return { measure, value, target: wanted, met };
}

/** One line per target: `met     <measure>: <value> (target <target>)`, or `MISSED ` first. */
function targetLines(targets) {
  return targets.map((t) => `${t.met ? 'met    ' : 'MISSED '} ${t.measure}: ${t.value} (target ${t.target})`).join('\n');
}

/** `ok  ` or `MISS`, the start of a printed figure that has a target. */
const mark = (ok) => (ok ? 'ok  ' : 'MISS');

/** Milliseconds in a column: `   12.3 ms`. */
const fmtMs = (x) => `${x.toFixed(1).padStart(8)} ms`;

/** A results file: the figures as indented JSON, with a final newline. */
function writeResults(file, results) {
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
}

module.exports = { target, targetLines, mark, fmtMs, writeResults };
