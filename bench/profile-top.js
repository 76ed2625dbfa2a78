#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile: where the samples were (self time) by package
 * and by function, and for each package the share of samples that had it
 * anywhere on the stack (inclusive). `node bench/profile-top.js api.cpuprofile [uploads]`
 * With the number of uploads the profile covered, times are also given per upload.
 * `--skip <seconds>` leaves out the profile's first seconds (a process's boot,
 * for a whole-life profile from `node --cpu-prof`, as bench/run.sh writes).
 */
'use strict';
const { readFileSync } = require('node:fs');

const argv = process.argv.slice(2);
const skipAt = argv.indexOf('--skip');
const skipMs = skipAt >= 0 ? Number(argv.splice(skipAt, 2)[1]) * 1000 : 0;
const [file, uploadsArg] = argv;
const uploads = Number(uploadsArg) || 0;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Which part of the program a frame belongs to: a package, one of ours, Node itself, or V8's bookkeeping. */
function partOf(frame) {
  const url = frame.url ?? '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/(apps\/[^/]+|libs\/[^/]+)\//.exec(url);
  if (ours) return ours[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

// Sample durations: timeDeltas[i] is the time before sample i.
const dt = new Map();
const deltas = profile.timeDeltas ?? [];
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += (deltas[i] ?? 0) / 1000;
  if (at < skipMs) continue;
  const id = profile.samples[i];
  dt.set(id, (dt.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0) / 1000);
}
const selfPart = new Map();
const selfFn = new Map();
const inclusive = new Map();
const owner = new Map();
let total = 0;
/** Node's own code and natives count against the nearest package or module of ours that called them. */
const isRuntime = (p) => p === '(native)' || p.startsWith('node:');
let idle = 0;
for (const [id, ms] of dt) {
  const node = nodes.get(id);
  const part = partOf(node.callFrame);
  if (part === '(idle)') {
    idle += ms;
    continue;
  }
  total += ms;
  selfPart.set(part, (selfPart.get(part) ?? 0) + ms);
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${part}:${node.callFrame.lineNumber + 1}`;
  selfFn.set(fn, (selfFn.get(fn) ?? 0) + ms);
  let by = part;
  for (let cur = id; cur !== undefined && isRuntime(by); cur = parent.get(cur)) by = partOf(nodes.get(cur).callFrame);
  if (isRuntime(by)) by = `${part} (no caller)`;
  owner.set(by, (owner.get(by) ?? 0) + ms);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const p = partOf(nodes.get(cur).callFrame);
    if (!seen.has(p)) {
      seen.add(p);
      inclusive.set(p, (inclusive.get(p) ?? 0) + ms);
    }
  }
}
const per = (ms) => (uploads ? ` ${((ms / uploads) * 1000).toFixed(0).padStart(6)} µs/upload` : '');
const show = (title, map, n) => {
  console.log(`\n${title}`);
  for (const [k, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((ms / total) * 100).toFixed(1).padStart(5)}% ${ms.toFixed(0).padStart(7)} ms${per(ms)}  ${k}`);
  }
};
const wall = (profile.endTime - profile.startTime) / 1000 - skipMs;
console.log(
  `profile: ${wall.toFixed(0)} ms wall, ${total.toFixed(0)} ms busy (${((total / wall) * 100).toFixed(0)}% of one core), ${idle.toFixed(0)} ms idle${per(total)}`,
);
show('self time by part', selfPart, 25);
show('self time by owner (Node internals and natives counted against their caller)', owner, 25);
show('inclusive time by part (on the stack anywhere)', inclusive, 25);
show('self time by function', selfFn, 40);
