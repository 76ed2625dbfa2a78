#!/usr/bin/env bash
# The scale benchmark: does a second worker node double the throughput?
#
#   bash bench/scale.sh [--jobs 80] [--concurrency 16]
#
# Starts a cluster of its own with scripts/cluster.sh (HAProxy on :8180, two
# API replicas, deployment, namespace, database and bucket menagerie-scale,
# engines from bench/confs-scale: "sleep2", which sleeps 2 s in the filemeta
# image, with 2 workers per node). It runs the jobs with ONE worker node, then
# starts a second one and runs them again; it prints jobs/s for each and the
# ratio (the target is at least 1.8x), then stops its cluster.
# MENAGERIE_SCALE_STORAGE=fs runs it on the file store instead of S3.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
cd "$ROOT"

export MENAGERIE_CLUSTER_DIR="$RUN_DIR/scale"
export MENAGERIE_CLUSTER_PORT="${MENAGERIE_SCALE_PORT:-8180}"
export MENAGERIE_CLUSTER_NAME=menagerie-scale
export MENAGERIE_CLUSTER_STORAGE="${MENAGERIE_SCALE_STORAGE:-s3}"
export MENAGERIE_CONF_DIR="$ROOT/bench/confs-scale"
API="http://localhost:$MENAGERIE_CLUSTER_PORT"
OUT="$MENAGERIE_CLUSTER_DIR/results.json"

cluster() { bash "$ROOT/scripts/cluster.sh" "$@"; }
trap 'MENAGERIE_CLUSTER_NODES=2 cluster down' EXIT

# A clean start: nothing of an earlier run still up, then one node.
MENAGERIE_CLUSTER_NODES=2 cluster down
MENAGERIE_CLUSTER_NODES=1 cluster up >/dev/null
one="$(node bench/scale.js --api "$API" --label "1 node" "$@")"
echo "$one"

MENAGERIE_CLUSTER_NODES=2 MENAGERIE_SERVICES_READY=1 cluster up >/dev/null
two="$(node bench/scale.js --api "$API" --label "2 nodes" "$@")"
echo "$two"

node - "$one" "$two" "$OUT" <<'JS'
const [one, two, out] = process.argv.slice(2);
const a = JSON.parse(one), b = JSON.parse(two);
const ratio = Math.round((b.jobsPerSecond / a.jobsPerSecond) * 100) / 100;
const result = { when: new Date().toISOString(), cpus: require('node:os').cpus().length, oneNode: a, twoNodes: b, ratio, target: 1.8, met: ratio >= 1.8 };
require('node:fs').writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`\n  1 node : ${a.jobsPerSecond} jobs/s (${a.jobs} jobs in ${a.seconds} s)  ${JSON.stringify(a.perNode)}`);
console.log(`  2 nodes: ${b.jobsPerSecond} jobs/s (${b.jobs} jobs in ${b.seconds} s)  ${JSON.stringify(b.perNode)}`);
console.log(`  ratio  : ${ratio}x (target >= 1.8x: ${ratio >= 1.8 ? 'met' : 'NOT met'})   figures in ${out}\n`);
JS
