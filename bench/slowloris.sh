#!/usr/bin/env bash
# The upload-memory benchmark: many clients that each send a little more than
# 256 KiB of a large file and then trickle one byte every few seconds (a
# slow-loris on uploads), against an API on the S3 store. It prints the API's
# resident memory before and at its peak, with the bound it must stay under
# (storage.s3.partBuffers part buffers, plus what each connection holds
# below the single-PUT size), and writes them to .run/bench-slowloris.json.
# Its own API (port 8196, database menagerie_bench_slow, bucket
# menagerie-bench-slow; no worker: nothing is dispatched to a node).
#   bash bench/slowloris.sh [--clients 300] [--seconds 90]
# MENAGERIE_SERVICES_READY=1 skips scripts/ensure-services.sh.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
cd "$ROOT"

[[ "${MENAGERIE_SERVICES_READY:-}" == 1 ]] || bash scripts/ensure-services.sh
ensure_temporal

DB=menagerie_bench_slow
PORT=8196
recreate_database "$DB"
NS=menagerie-bench-slow
ensure_namespace "$NS"
wait_for "Temporal namespace $NS" 60 namespace_serves "$NS"

load_env "$RUN_DIR/s3.env"
export MENAGERIE_CONF_DIR="$ROOT/bench/confs" MENAGERIE_STORAGE_KIND=s3 MENAGERIE_S3_BUCKET=menagerie-bench-slow
export MENAGERIE_API_PORT=$PORT MENAGERIE_PUBLIC_URL="http://localhost:$PORT" MENAGERIE_DB_NAME=$DB TEMPORAL_NAMESPACE=$NS

pids=()
cleanup() { stop_children "${pids[@]}"; }
trap cleanup EXIT
node apps/api/dist/main.js >"$RUN_DIR/bench-slowloris-api.log" 2>&1 & api=$!; pids+=("$api")
wait_for "bench API" 90 http_ok "http://localhost:$PORT/health"
node bench/slowloris.js --api "http://localhost:$PORT" --api-pid "$api" --out "$RUN_DIR/bench-slowloris.json" "$@"
