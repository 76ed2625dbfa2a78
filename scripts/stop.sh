#!/usr/bin/env bash
# Stops what start.sh started: the API, the worker, the Temporal dev server, SeaweedFS and PostgreSQL
# (and the local cluster of scripts/cluster.sh, which uses them).
# The Docker daemon is left running (other things may use it).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# A scripts/cluster.sh cluster runs on the same services: it goes first.
if compgen -G "$RUN_DIR/cluster/*.pid" >/dev/null; then bash "$ROOT/scripts/cluster.sh" down; fi
for name in api worker temporal seaweedfs; do
  file="$RUN_DIR/$name.pid"
  [[ -f "$file" ]] || continue
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name ($pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # SeaweedFS takes about 12 s to exit; a restart before then would find its ports busy.
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$file"
done
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
if [[ -n "$bin" && -f "$PG_DATA/postmaster.pid" ]]; then
  log "stopping PostgreSQL"
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null || true
fi
