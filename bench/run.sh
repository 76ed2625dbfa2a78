#!/usr/bin/env bash
# The benchmark: one command, figures written to bench/results.json (and printed, each with its target).
# It starts the infrastructure like scripts/start.sh, then its own API and worker
# (port 8199, database menagerie_bench, engines from bench/confs) so that it
# neither disturbs nor is disturbed by a running Menagerie.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
cd "$ROOT"

bash scripts/ensure-services.sh
ensure_temporal
ensure_database menagerie_bench
# A namespace of its own: workers of another Menagerie on this Temporal can't take its jobs.
ensure_namespace menagerie-bench
export MENAGERIE_CONF_DIR="$ROOT/bench/confs"
# MENAGERIE_BENCH_STORE=s3: the same run with the S3 store (the local SeaweedFS, bucket menagerie-bench).
out=bench/results.json
if [[ "${MENAGERIE_BENCH_STORE:-fs}" == s3 ]]; then
  load_env "$RUN_DIR/s3.env"
  export MENAGERIE_STORAGE_KIND=s3 MENAGERIE_S3_BUCKET=menagerie-bench
  out=bench/results-s3.json
fi
# MENAGERIE_BENCH_PROFILE=<dir>: the API and the worker write V8 CPU profiles there (read them with bench/profile-top.js <file> <jobs> --skip <boot seconds>).
node_args=()
if [[ -n "${MENAGERIE_BENCH_PROFILE:-}" ]]; then
  mkdir -p "$MENAGERIE_BENCH_PROFILE"
  node_args=(--cpu-prof --cpu-prof-dir="$MENAGERIE_BENCH_PROFILE")
fi
pids=()
cleanup() { stop_children "${pids[@]}"; }
trap cleanup EXIT
node "${node_args[@]}" apps/api/dist/main.js >"$RUN_DIR/bench-api.log" 2>&1 & api=$!; pids+=("$api")
node "${node_args[@]}" apps/worker/dist/main.js >"$RUN_DIR/bench-worker.log" 2>&1 & worker=$!; pids+=("$worker")
wait_for "bench API" 90 http_ok http://localhost:8199/health
sleep 2 # the worker polls its queues once it has bundled the workflows

node bench/bench.js --api http://localhost:8199 --api-pid "$api" --worker-pid "$worker" --out "$out" "$@"
cleanup; pids=()

# The other parts, each with its own API (and worker), then every figure with its target in one place.
# MENAGERIE_BENCH_PARTS=latency skips them (ingest: ~20 min for 5,000 uploads and their drain; history:
# ~10 min to seed 10 M rows the first time, 9 GB, kept for the next run).
# On S3, only the first part (the others keep their figures on the embedded default store).
default_parts=latency,ingest,history; [[ "${MENAGERIE_BENCH_STORE:-fs}" == s3 ]] && default_parts=latency
parts="${MENAGERIE_BENCH_PARTS:-$default_parts}"
# Only the parts that ran are gathered (an earlier run's file would pass for this one's).
ingest_file=none history_file=none
if [[ "$parts" == *ingest* ]]; then
  if bash bench/ingest.sh; then ingest_file=bench/results-ingest.json; else log "the ingest benchmark failed (see above)"; fi
fi
if [[ "$parts" == *history* ]]; then
  if bash bench/history.sh; then history_file=bench/results-history.json; else log "the history benchmark failed (see above)"; fi
fi
node bench/summary.js --out "$out" --ingest "$ingest_file" --history "$history_file"
