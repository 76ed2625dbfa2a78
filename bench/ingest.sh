#!/usr/bin/env bash
# The ingest benchmark: many small uploads while the engines are busy, then the
# backlog drained and counted. Figures go to bench/results-ingest.json (and are printed).
# Its own API and worker (port 8197, database menagerie_bench_ingest, Temporal
# namespace menagerie-bench-ingest, engines from bench/confs), started from a clean
# slate each run, so it neither disturbs nor is disturbed by bench/run.sh or a running Menagerie.
#   bash bench/ingest.sh [--uploads 5000] [--clients 20] [--profile true] [--skip-drain true] [--engines-idle true]
# --engines-idle true pauses the worker (SIGSTOP) once it has registered, so that
# only the API's own ceiling is measured: no engine work competes for the CPU
# and nothing drains. Its figures go to .run/bench-ingest-idle.json, never to
# bench/results-ingest.json.
# --profile true writes a CPU profile of the API over the upload phase to .run/bench-ingest-api.cpuprofile
# and summarises it (bench/profile-top.js). MENAGERIE_SERVICES_READY=1 skips scripts/ensure-services.sh.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
cd "$ROOT"

[[ "${MENAGERIE_SERVICES_READY:-}" == 1 ]] || bash scripts/ensure-services.sh
ensure_temporal

DB=menagerie_bench_ingest
NS=menagerie-bench-ingest
PORT=8197
# A clean slate: the counts at the end must be this run's jobs alone.
recreate_database "$DB"
ensure_namespace "$NS"
wait_for "Temporal namespace $NS" 60 namespace_serves "$NS"
# Workflows a stopped run left behind would compete with this run's jobs for the engines.
if [[ "$("$TEMPORAL_BIN" workflow count -n "$NS" --address 127.0.0.1:7233 --query "ExecutionStatus='Running'")" != *"Total: 0"* ]]; then
  "$TEMPORAL_BIN" workflow terminate -n "$NS" --address 127.0.0.1:7233 --query "ExecutionStatus='Running'" --reason "bench/ingest.sh: a new run" --yes >/dev/null
fi
STORE="$RUN_DIR/bench-ingest-data"
rm -rf "$STORE" && mkdir -p "$STORE"

export MENAGERIE_CONF_DIR="$ROOT/bench/confs"
export MENAGERIE_API_PORT=$PORT MENAGERIE_PUBLIC_URL="http://localhost:$PORT"
export MENAGERIE_DB_NAME=$DB TEMPORAL_NAMESPACE=$NS MENAGERIE_STORAGE_DIR="$STORE"
export MENAGERIE_NODE_NAME=bench-ingest

profile=false idle=false
for ((i = 1; i <= $#; i++)); do
  j=$((i + 1))
  [[ "${!i}" == --profile ]] && profile="${!j}"
  [[ "${!i}" == --engines-idle ]] && idle="${!j}"
done
api_node=(node)
if [[ "$profile" == true ]]; then
  export MENAGERIE_CPU_PROFILE="$RUN_DIR/bench-ingest-api.cpuprofile"
  rm -f "$MENAGERIE_CPU_PROFILE"
  api_node=(node -r "$ROOT/bench/cpu-profile.js")
fi

pids=()
# A paused worker ran nothing (no container, no activity): it is killed, not woken to drain what was dispatched meanwhile.
cleanup() { [[ "$idle" == true && -n "${worker:-}" ]] && kill -KILL "$worker" 2>/dev/null; stop_children "${pids[@]}"; }
trap cleanup EXIT
"${api_node[@]}" apps/api/dist/main.js >"$RUN_DIR/bench-ingest-api.log" 2>&1 & api=$!; pids+=("$api")
MENAGERIE_CPU_PROFILE='' node apps/worker/dist/main.js >"$RUN_DIR/bench-ingest-worker.log" 2>&1 & worker=$!; pids+=("$worker")
wait_for "bench ingest API" 90 http_ok "http://localhost:$PORT/health"
# Uploads are refused until the worker node has reported its engines.
engine_ready() { curl -fsS "http://localhost:$PORT/engines" | grep -q '"filemeta"' && curl -fsS "http://localhost:$PORT/nodes" | grep -q bench-ingest; }
wait_for "bench ingest worker node" 90 engine_ready
sleep 2 # the worker polls its queues once it has bundled the workflows

out=(--out bench/results-ingest.json)
if [[ "$idle" == true ]]; then
  kill -STOP "$worker"
  out=(--out "$RUN_DIR/bench-ingest-idle.json" --skip-drain true)
fi
status=0
node bench/ingest.js --api "http://localhost:$PORT" --api-pid "$api" --worker-pid "$worker" \
  --temporal-bin "$TEMPORAL_BIN" --namespace "$NS" --database "$DB" "${out[@]}" "$@" || status=$?
if [[ "$profile" == true ]]; then
  wait_for "the API's CPU profile" 30 test -s "$MENAGERIE_CPU_PROFILE"
  uploads=5000
  for ((i = 1; i <= $#; i++)); do [[ "${!i}" == --uploads ]] && j=$((i + 1)) && uploads="${!j}"; done
  node bench/profile-top.js "$MENAGERIE_CPU_PROFILE" "$uploads" | tee "$RUN_DIR/bench-ingest-profile.txt"
fi
exit $status
