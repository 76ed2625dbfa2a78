'use strict';
/**
 * CPU accounting for the benchmarks, from /proc: the whole machine's busy
 * time, and each long-lived part of the system by process. One place, so every
 * benchmark counts the parts the same way.
 */
const { readdirSync, readFileSync } = require('node:fs');

const TICK = 100; // USER_HZ on Linux

/**
 * CPU seconds so far: the machine's (less idle and iowait) and, per process,
 * its part. `pids` names processes the caller started ({ api: 123, worker: 456 });
 * the Temporal dev server, PostgreSQL and Docker are found by their command lines.
 */
function cpuSnapshot(pids = {}) {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const busy = fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3] - fields[4];
  const byPid = new Map(
    Object.entries(pids)
      .filter(([, pid]) => pid)
      .map(([part, pid]) => [Number(pid), part]),
  );
  const procs = new Map(); // pid → [part, CPU seconds]
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat, cmd;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // gone meanwhile
    }
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const n = Number(pid);
    const part =
      byPid.get(n) ??
      (/temporal server start-dev/.test(cmd)
        ? 'temporal'
        : /^postgres/.test(cmd)
          ? 'postgres'
          : /^(dockerd|containerd)( |$)|containerd-shim/.test(cmd)
            ? 'docker'
            : null);
    if (part) procs.set(n, [part, (f[11] + f[12]) / TICK]); // utime + stime
  }
  return { busy: busy / TICK, procs };
}

/** Milliseconds of CPU per unit of work between two snapshots: the machine's, and each part's. */
function cpuPer(before, after, units, parts = ['api', 'worker', 'temporal', 'postgres', 'docker']) {
  const per = (seconds) => Math.round((seconds / units) * 10000) / 10;
  const out = { machineMs: per(after.busy - before.busy), ...Object.fromEntries(parts.map((p) => [`${p}Ms`, 0])) };
  // Per process, so one that ended during the phase (a database backend) doesn't count against the rest.
  const used = {};
  for (const [pid, [part, seconds]] of after.procs) used[part] = (used[part] ?? 0) + seconds - (before.procs.get(pid)?.[1] ?? 0);
  for (const [part, seconds] of Object.entries(used)) out[`${part}Ms`] = per(seconds);
  return out;
}

module.exports = { cpuSnapshot, cpuPer };
