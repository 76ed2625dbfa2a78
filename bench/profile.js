#!/usr/bin/env node
/**
 * Reads a V8 CPU profile (.cpuprofile, from node --cpu-prof) and prints where
 * the time went: the functions with the most self time, and the packages and
 * files they belong to. Usage: node bench/profile.js <file.cpuprofile> [top] [--skip <seconds>]
 * (--skip leaves out the first seconds: a process's boot, say).
 */
'use strict';
const { readFileSync } = require('node:fs');

const argv = process.argv.slice(2);
const skipAt = argv.indexOf('--skip');
const skipUs = skipAt >= 0 ? Number(argv.splice(skipAt, 2)[1]) * 1e6 : 0;
const [file, topArg] = argv;
if (!file) {
  console.error('usage: node bench/profile.js <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map(); // node id → microseconds
const deltas = profile.timeDeltas;
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += deltas[i] ?? 0;
  if (at >= skipUs) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** Where a function lives: its npm package, a file of ours, or what V8 calls it. */
function placeOf(url) {
  if (!url) return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/(apps|libs)\/([^/]+)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return 'node core';
  return url.replace(/^file:\/\//, '');
}

const fns = new Map();
const places = new Map();
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id);
  const key = `${f.functionName || '(anonymous)'} ${placeOf(f.url)}:${f.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const place = f.url ? placeOf(f.url) : f.functionName; // (garbage collector), (program), (idle)
  places.set(place, (places.get(place) ?? 0) + us);
}
// Each sample charged to the nearest function of ours (apps/, libs/) on its stack: what our code asked for.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const ours = new Map();
for (const [id, us] of self) {
  let at = id;
  while (at !== undefined && !/\/(apps|libs)\//.test(byId.get(at).callFrame.url)) at = parent.get(at);
  const frame = at === undefined ? null : byId.get(at).callFrame;
  const key = frame ? `${frame.functionName || '(anonymous)'} ${placeOf(frame.url)}:${frame.lineNumber + 1}` : '(not under our code)';
  if (byId.get(id).callFrame.functionName !== '(idle)') ours.set(key, (ours.get(key) ?? 0) + us);
}

const show = (map) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
const busy = total - (places.get('(idle)') ?? 0);
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy${skipUs ? ` (after the first ${skipUs / 1e6} s)` : ''}\n\nby package or file:\n${show(places)}\n\nby function (self time):\n${show(fns)}\n\nby the nearest function of ours on the stack (busy time only):\n${show(ours)}`);
