#!/usr/bin/env bash
# The history benchmark: GET /jobs (every filter, a deep page), the console's
# search (name part, sha256 prefix) and polling, and /engines' queue counts,
# with N rows in jobs (default 10,000,000; --rows N). Target: p95 <= 30 ms each.
# Its own database (menagerie_bench_history), seeded once per N and reused;
# its own API on port 8198 (Temporal namespace menagerie-bench). Writes
# bench/results-history.json.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
cd "$ROOT"

rows=10000000
pass=()
while (( $# )); do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    *) pass+=("$1"); shift ;;
  esac
done

bash scripts/ensure-services.sh
ensure_temporal
ensure_build
TEMPORAL_BIN="${TEMPORAL_BIN:-$CACHE_DIR/bin/temporal}"
# One database per row count, so a small development run keeps the big seed.
db=menagerie_bench_history; [[ "$rows" == 10000000 ]] || db="${db}_$rows"
export MENAGERIE_DB_NAME="$db"
ensure_database "$MENAGERIE_DB_NAME"
ensure_namespace menagerie-bench

node bench/history.js prepare --rows "$rows" "${pass[@]}"

export MENAGERIE_CONF_DIR="$ROOT/bench/confs" MENAGERIE_API_PORT=8198 MENAGERIE_PUBLIC_URL=http://localhost:8198
export MENAGERIE_STORAGE_KIND=fs MENAGERIE_STORAGE_DIR="$RUN_DIR/bench-history-data" LOG_LEVEL=warn
api=
cleanup() { stop_children ${api:+"$api"}; }
trap cleanup EXIT
node apps/api/dist/main.js >"$RUN_DIR/bench-history-api.log" 2>&1 & api=$!
wait_for "history bench API" 120 http_ok http://localhost:8198/health

node bench/history.js measure --api http://localhost:8198 --rows "$rows" "${pass[@]}"
