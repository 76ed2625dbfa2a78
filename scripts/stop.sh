#!/usr/bin/env bash
# Stops what start.sh started: the API, the worker, the Temporal dev server, SeaweedFS and PostgreSQL
# (and the local cluster of scripts/cluster.sh, which uses them).
# The Docker daemon is left running (other things may use it).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# A scripts/cluster.sh cluster runs on the same services: it goes first.
if compgen -G "$RUN_DIR/cluster/*.pid" >/dev/null; then bash "$ROOT/scripts/cluster.sh" down; fi
for name in api worker temporal seaweedfs; do
  # Up to 30 s each, and no SIGKILL after: SeaweedFS takes about 12 s to exit;
  # a restart before then would find its ports busy.
  stop_logged "$RUN_DIR/$name.pid" 30 none
done
stop_postgres
