# shellcheck shell=bash
# The Docker daemon and Compose.

ensure_docker() {
  if docker info >/dev/null 2>&1; then return; fi
  ensure_command dockerd docker.io
  ensure_command debootstrap debootstrap
  log "starting dockerd (log: $RUN_DIR/dockerd.log)"
  detach "$RUN_DIR/dockerd.log" "$RUN_DIR/dockerd.pid" dockerd
  wait_for "Docker daemon" 60 docker info
}

# Debian's docker-compose (1.29) for docker-compose.yml; Compose v2 (`docker
# compose`) reads the file too, but Debian doesn't package it.
ensure_docker_compose() {
  ensure_command docker-compose docker-compose
}

# ensure_compose_v2: Compose v2 (pinned COMPOSE_V2_VERSION), built from its
# module source into $CACHE_DIR/go/bin-compose, ~3 min the first time (`go
# install` refuses it: its go.mod has exclude directives); sets COMPOSE_V2_BIN.
# Optional: Debian's docker-compose 1.29 is what the tests use;
# MENAGERIE_COMPOSE=v2 bash scripts/compose-smoke.sh runs the smoke test on this.
ensure_compose_v2() {
  COMPOSE_V2_BIN="$CACHE_DIR/go/bin-compose/docker-compose"
  export COMPOSE_V2_BIN
  "$COMPOSE_V2_BIN" version 2>/dev/null | grep -q "v$COMPOSE_V2_VERSION\$" && return
  local module="github.com/docker/compose/v2"
  go_toolchain "Compose v2"
  log "building Compose v$COMPOSE_V2_VERSION from $module (a few minutes the first time)"
  mkdir -p "$(dirname "$COMPOSE_V2_BIN")"
  (
    go_cache_env
    export GOWORK=off
    dir="$("$GO" mod download -json "$module@v$COMPOSE_V2_VERSION" | json Dir)"
    cd "$dir" && "$GO" build -trimpath -ldflags "-s -w -X $module/internal.Version=v$COMPOSE_V2_VERSION" -o "$COMPOSE_V2_BIN" ./cmd
  )
}

# use_compose: sets COMPOSE to the compose command MENAGERIE_COMPOSE names:
# docker-compose (the default), v2 (ensure_compose_v2's build) or any command
# line ("docker compose").
use_compose() {
  ensure_docker_compose
  # shellcheck disable=SC2034 # for the script that calls this
  if [[ "${MENAGERIE_COMPOSE:-}" == v2 ]]; then
    ensure_compose_v2
    COMPOSE=("$COMPOSE_V2_BIN")
  else
    read -ra COMPOSE <<<"${MENAGERIE_COMPOSE:-docker-compose}"
  fi
}
