#!/usr/bin/env bash
# Starts the whole system on this machine: Docker, PostgreSQL, the Temporal dev
# server (SQLite, Web UI on :8233), the sample engine images, then the API and
# the worker. Safe to run again: services that answer are reused, and the API
# and worker are restarted on the current code and configuration.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

bash "$ROOT/scripts/ensure-services.sh"
ensure_temporal

stop_pidfile() {
  local file=$1
  [[ -f "$file" ]] || return 0
  local pid; pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

start_node() {
  local name=$1 entry=$2
  stop_pidfile "$RUN_DIR/$name.pid"
  log "starting $name (log: $RUN_DIR/$name.log)"
  # setsid: the process outlives this script and doesn't hold its terminal or pipes.
  setsid node "$ROOT/$entry" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

start_node api apps/api/dist/main.js
start_node worker apps/worker/dist/main.js

API_URL="http://localhost:${MENAGERIE_API_PORT:-8100}"
health() { curl -fsS "$API_URL/health" >/dev/null; }
if ! (wait_for "API" 60 health); then
  tail -n 30 "$RUN_DIR/api.log" >&2
  die "the API did not become healthy; see $RUN_DIR/api.log"
fi
kill -0 "$(cat "$RUN_DIR/worker.pid")" 2>/dev/null || { tail -n 30 "$RUN_DIR/worker.log" >&2; die "the worker exited; see $RUN_DIR/worker.log"; }

cat <<MSG

  Menagerie is up.

  API             $API_URL          (health: $API_URL/health, engines: $API_URL/engines, jobs: $API_URL/jobs)
  Admin console   $API_URL/console
  API docs        $API_URL/docs
  Temporal Web UI http://localhost:8233
  Logs            $RUN_DIR/{api,worker,temporal,dockerd}.log

  Try it:
    curl -XPOST $API_URL/filemeta/upload -F "upload=@README.md"
    curl -XPOST $API_URL/apktool/upload -F "upload=@$CACHE_DIR/fixtures/sample.apk"
    curl "$API_URL/result/<jobid>?wait=60"   # answers once the job has ended
    curl -OJ $API_URL/link/<jobid>

  Stop it: bash scripts/stop.sh

MSG
