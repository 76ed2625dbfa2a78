# shellcheck shell=bash
# The one file the scripts source (don't run it): the checkout's paths, the
# pinned versions, and every shared helper, from the files it sources below.
# Every ensure_* function is idempotent: it reuses what already answers and
# installs or starts only what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${MENAGERIE_RUN_DIR:-$ROOT/.run}"
CACHE_DIR="${MENAGERIE_CACHE_DIR:-$ROOT/.cache}"

# Versions. They stay in this file: test/unit/compose.spec.ts reads the
# compose images' pins from it.
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-1.5.1}"
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.48}"
# The compose images (scripts/build-compose-images.sh): Temporal's server and
# schema tool, its Web UI server (Go modules, built on the host), and the
# major version of Debian's PostgreSQL.
TEMPORAL_SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-1.29.1}"
TEMPORAL_UI_VERSION="${TEMPORAL_UI_VERSION:-2.41.0}"
POSTGRES_MAJOR="${POSTGRES_MAJOR:-15}"
# Compose v2, optional (ensure_compose_v2 in services/docker.sh).
COMPOSE_V2_VERSION="${COMPOSE_V2_VERSION:-2.40.3}"

mkdir -p "$RUN_DIR" "$CACHE_DIR/bin"

MENAGERIE_LIB="$ROOT/scripts/lib"
source "$MENAGERIE_LIB/log.sh"            # log, die
source "$MENAGERIE_LIB/process.sh"        # wait_for, start_detached, stop_by_pidfile, hold_lock, load_env, ...
source "$MENAGERIE_LIB/net.sh"            # port_open, port_listening, free_port, http_ok, private bridges
source "$MENAGERIE_LIB/fs.sh"             # files_hash, file_digests, unmount_under, remove_tree
source "$MENAGERIE_LIB/json.sh"           # json
source "$MENAGERIE_LIB/packages.sh"       # apt_install, ensure_command, wheel_binary
source "$MENAGERIE_LIB/images.sh"         # image_id, build_labelled, context_hash, ensure_base_image, ensure_images
source "$MENAGERIE_LIB/bundles.sh"        # push_example_bundles
source "$MENAGERIE_LIB/services/node.sh"      # ensure_node_modules, ensure_build
source "$MENAGERIE_LIB/services/go.sh"        # go_toolchain, ensure_go_binary
source "$MENAGERIE_LIB/services/docker.sh"    # ensure_docker, ensure_docker_compose, ensure_compose_v2, use_compose
source "$MENAGERIE_LIB/services/postgres.sh"  # ensure_postgres, stop_postgres, ensure_database
source "$MENAGERIE_LIB/services/temporal.sh"  # ensure_temporal_cli, ensure_temporal, ensure_namespace
source "$MENAGERIE_LIB/services/seaweedfs.sh" # ensure_seaweedfs, ensure_s3
source "$MENAGERIE_LIB/services/haproxy.sh"   # ensure_haproxy
source "$MENAGERIE_LIB/services/chromium.sh"  # ensure_chromium
