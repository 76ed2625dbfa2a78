#!/usr/bin/env bash
# Starts the whole system on this machine: Docker, PostgreSQL, the Temporal dev
# server (SQLite, Web UI on :8233), the sample engine images, then the API and
# the worker. Safe to run again: services that answer are reused, and the API
# and worker are restarted on the current code and configuration.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT" || exit

bash "$ROOT/scripts/ensure-services.sh"
ensure_temporal

start_node() {
  local name=$1 entry=$2
  stop_by_pidfile "$RUN_DIR/$name.pid"
  start_detached "$RUN_DIR" "$name" node "$ROOT/$entry"
}

start_node api apps/api/dist/main.js
start_node worker apps/worker/dist/main.js

API_URL="http://localhost:${MENAGERIE_API_PORT:-8100}"
(wait_for "API" 60 http_ok "$API_URL/health") || die_with_log "$RUN_DIR/api.log" "the API did not become healthy; see $RUN_DIR/api.log"
kill -0 "$(cat "$RUN_DIR/worker.pid")" 2>/dev/null || die_with_log "$RUN_DIR/worker.log" "the worker exited; see $RUN_DIR/worker.log"
# The engines' example rules and signatures, where no version was pushed yet.
push_example_bundles "$API_URL"

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
