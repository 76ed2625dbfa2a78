'use strict';
/** The ingest benchmark's figures as it prints them, each with its target where it has one. */
const { mark } = require('./report');

/** The floor: bare workflow starts and row INSERTs. */
function printFloor(f, calls, clients) {
  console.log(`\nfloor (engines idle): ${calls} calls from ${clients} callers`);
  console.log(
    `       bare StartWorkflowExecution ${String(f.temporalStart.perSec).padStart(7)}/s  p50 ${f.temporalStart.p50Ms} ms  p99 ${f.temporalStart.p99Ms} ms  CPU ms per call: temporal ${f.temporalStart.cpuPerCall.temporalMs}, machine ${f.temporalStart.cpuPerCall.machineMs}`,
  );
  console.log(
    `       bare INSERT of a jobs row   ${String(f.pgInsert.perSec).padStart(7)}/s  p50 ${f.pgInsert.p50Ms} ms  p99 ${f.pgInsert.p99Ms} ms  CPU ms per call: postgres ${f.pgInsert.cpuPerCall.postgresMs}, machine ${f.pgInsert.cpuPerCall.machineMs}`,
  );
}

/** The upload phase: accepted/s, upload latency, refusals, CPU per upload. */
function printIngest(ing, { uploads, clients, enginesIdle, target }) {
  console.log(
    `\ningest: ${uploads} uploads of 1–10 KB from ${clients} clients, ${ing.seconds} s, ${enginesIdle ? 'worker paused: the API alone' : 'engines busy'} (backlog ${ing.backlogWhenUploadsEnded} at the end)`,
  );
  console.log(
    `  ${mark(ing.acceptedPerSec >= target.acceptedPerSec)} accepted/s      ${String(ing.acceptedPerSec).padStart(8)}   target >= ${target.acceptedPerSec}`,
  );
  console.log(`       upload p50       ${String(ing.latencyMs.p50).padStart(8)} ms`);
  console.log(`       upload p95       ${String(ing.latencyMs.p95).padStart(8)} ms`);
  console.log(
    `  ${mark(ing.latencyMs.p99 <= target.p99Ms)} upload p99       ${String(ing.latencyMs.p99).padStart(8)} ms  target <= ${target.p99Ms} ms`,
  );
  console.log(`  ${mark(ing.refused === 0)} refused          ${String(ing.refused).padStart(8)}   ${ing.firstErrors.join('; ')}`);
  console.log(
    `       CPU ms per upload: ${Object.entries(ing.cpuPerUpload)
      .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v}`)
      .join(', ')}`,
  );
}

/** The drain, and whether any job was lost: its row, its workflow, its result. */
function printDrain(d, L, namespace) {
  console.log(`\ndrain: ${d.jobs} jobs ended ${d.seconds} s after the first upload`);
  console.log(`       jobs/s while uploading   ${String(d.perSecWhileUploading).padStart(6)}`);
  console.log(`       jobs/s after uploads     ${String(d.perSecAfterUploads).padStart(6)}   (the engines' pace with no ingest)`);
  console.log(
    `       jobs/s overall           ${String(d.perSecOverall).padStart(6)}   engine slots / mean run = ${d.engineSlots} / ${d.meanRunSeconds} s = ${d.slotsOverMeanRun}`,
  );
  console.log(
    `  ${mark(L.rows === L.accepted && L.rowsCompleted === L.accepted)} rows completed   ${L.rowsCompleted}/${L.accepted}  ${JSON.stringify(L.rowStatuses)}`,
  );
  console.log(
    `  ${mark(L.workflowsCompleted === L.accepted)} workflows done   ${L.workflowsCompleted}/${L.accepted}  (${L.workflows} started in namespace ${namespace} since the run began)`,
  );
  console.log(`  ${mark(L.resultsCompleted === L.accepted)} /result results ${L.resultsCompleted}/${L.accepted}`);
  console.log(
    `  ${mark(L.linksServed === L.linksSampled)} /link served    ${L.linksServed}/${L.linksSampled} sampled, size as /result says`,
  );
  console.log(`  ${mark(L.none)} none lost`);
}

module.exports = { printFloor, printIngest, printDrain };
