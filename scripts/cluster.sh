#!/usr/bin/env bash
# A local multi-node Menagerie on this machine:
#
#   bash scripts/cluster.sh up       # start (idempotent: what runs is kept)
#   bash scripts/cluster.sh status   # each process, and GET /health through HAProxy
#   bash scripts/cluster.sh down     # stop what `up` started
#   bash scripts/cluster.sh restart  # down, then up (new code or settings)
#
# `up` runs ensure-services (Docker, PostgreSQL, SeaweedFS, the engine images,
# the build) and the Temporal dev server, then starts HAProxy on :8100 in front
# of two API replicas (:8101, :8102) and two worker nodes, node-a and node-b,
# each with a scratch root of its own, all on the S3 store (SeaweedFS). The
# cluster has its own deployment name, Temporal namespace, database and bucket
# (menagerie-cluster, menagerie_cluster for the database), so it never shares
# jobs with the single-box system of scripts/start.sh. It shares with it the
# services: PostgreSQL, Temporal and SeaweedFS, which `down` leaves running
# (scripts/stop.sh stops them).
#
# Environment (for tests and bench/scale.sh, which start clusters of their own):
#   MENAGERIE_CLUSTER_DIR        pidfiles, logs, scratch roots (.run/cluster)
#   MENAGERIE_CLUSTER_PORT       HAProxy's port (8100); replicas on the next ports
#   MENAGERIE_CLUSTER_APIS       how many API replicas (2)
#   MENAGERIE_CLUSTER_STATS_PORT HAProxy's stats page (PORT+9, loopback)
#   MENAGERIE_CLUSTER_NODES      worker node names ("node-a node-b"), or a count
#   MENAGERIE_CLUSTER_NAME       deployment name (menagerie-cluster); also the
#                                default of the three below
#   MENAGERIE_CLUSTER_NAMESPACE  Temporal namespace
#   MENAGERIE_CLUSTER_DB         PostgreSQL database (NAME with _ for -)
#   MENAGERIE_CLUSTER_BUCKET     S3 bucket (the API creates it)
#   MENAGERIE_CLUSTER_STORAGE    s3 (default), or fs: one directory, DIR/data,
#                                which every process on this machine shares
#   MENAGERIE_CLUSTER_S3_ENDPOINT  the S3 endpoint the cluster uses instead of
#                                the one in .run/s3.env (a test's relay to it)
#   MENAGERIE_CLUSTER_OWN_DOCKERD  nodes that get a Docker daemon of their own
#                                (e.g. "node-b"): its own --data-root, --exec-root
#                                and socket, no network (engines run with none),
#                                loaded with the engine images of this host's
#                                daemon (none with MENAGERIE_REGISTRY_ENABLED=true:
#                                it pulls from the registry); such a node shares
#                                nothing with the others but Temporal, PostgreSQL
#                                and S3. Default: none.
#   MENAGERIE_CLUSTER_USERNS_REMAP  nodes whose own Docker daemon (implied) runs
#                                with --userns-remap=default (e.g. "node-b"): an
#                                engine's uid N is host uid base+N, base from the
#                                dockremap range in /etc/subuid (dockerd makes the
#                                user and the range); its images are a store of
#                                their own, <data-root>/<base>.<base>. Default: none.
#   MENAGERIE_CONF_DIR           confs the apps read (confs/); the variables above
#                                override its ports, names and storage
#   MENAGERIE_SERVICES_READY=1   skip ensure-services (the services and the build
#                                are known to be there)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT" || exit

CLUSTER_DIR="${MENAGERIE_CLUSTER_DIR:-$RUN_DIR/cluster}"
PORT="${MENAGERIE_CLUSTER_PORT:-8100}"
APIS="${MENAGERIE_CLUSTER_APIS:-2}"
STATS_PORT="${MENAGERIE_CLUSTER_STATS_PORT:-$((PORT + 9))}"
NAME="${MENAGERIE_CLUSTER_NAME:-menagerie-cluster}"
NAMESPACE="${MENAGERIE_CLUSTER_NAMESPACE:-$NAME}"
DB="${MENAGERIE_CLUSTER_DB:-${NAME//[-.]/_}}"
BUCKET="${MENAGERIE_CLUSTER_BUCKET:-$NAME}"
STORAGE="${MENAGERIE_CLUSTER_STORAGE:-s3}"
NODES="${MENAGERIE_CLUSTER_NODES:-node-a node-b}"
if [[ "$NODES" =~ ^[0-9]+$ ]]; then
  n=$NODES NODES=""
  for ((i = 0; i < n; i++)); do NODES+=" node-$(printf '%b' "\\x$(printf %x $((97 + i)))")"; done
fi
read -r -a NODE_NAMES <<<"$NODES"
read -r -a OWN_DOCKERD <<<"${MENAGERIE_CLUSTER_OWN_DOCKERD:-}"
read -r -a USERNS_REMAP <<<"${MENAGERIE_CLUSTER_USERNS_REMAP:-}"
for n in "${USERNS_REMAP[@]}"; do [[ " ${OWN_DOCKERD[*]} " == *" $n "* ]] || OWN_DOCKERD+=("$n"); done
API_NAMES=()
for ((i = 1; i <= APIS; i++)); do API_NAMES+=("api-$i"); done
api_port() { echo $((PORT + ${1#api-})); }

API_URL="http://localhost:$PORT"
TEMPORAL_UI="http://localhost:8233/namespaces/$NAMESPACE/workflows"
mkdir -p "$CLUSTER_DIR"

# What every app process of the cluster reads, on top of the confs.
app_env() {
  export MENAGERIE_PUBLIC_URL="$API_URL" TEMPORAL_NAMESPACE="$NAMESPACE" TEMPORAL_UI_URL="http://localhost:8233"
  export MENAGERIE_DB_NAME="$DB" MENAGERIE_DEPLOYMENT="$NAME" MENAGERIE_STORAGE_KIND="$STORAGE"
  # Only the workers use it in s3 mode (under the scratch roots, when no scratch is set).
  export MENAGERIE_STORAGE_DIR="$CLUSTER_DIR/data"
  if [[ "$STORAGE" == s3 ]]; then
    [[ -f "$RUN_DIR/s3.env" ]] || die "$RUN_DIR/s3.env is missing: run bash scripts/ensure-services.sh"
    load_env "$RUN_DIR/s3.env"
    export MENAGERIE_S3_BUCKET="$BUCKET" MENAGERIE_S3_FORCE_PATH_STYLE=true
    [[ -z "${MENAGERIE_CLUSTER_S3_ENDPOINT:-}" ]] || export MENAGERIE_S3_ENDPOINT="$MENAGERIE_CLUSTER_S3_ENDPOINT"
  fi
}

# start_process NAME COMMAND...: start_detached, its log and pid in CLUSTER_DIR.
start_process() { start_detached "$CLUSTER_DIR" "$@"; }

own_dockerd() { [[ " ${OWN_DOCKERD[*]} " == *" $1 "* ]]; }
userns_remap() { [[ " ${USERNS_REMAP[*]} " == *" $1 "* ]]; }
dockerd_socket() { echo "$CLUSTER_DIR/$1-docker/docker.sock"; }
# The bridge of node NAME's own daemon: a name of at most 15 characters, this cluster's and node's.
dockerd_bridge() { echo "mnb$(printf '%s' "$NAME-$1" | cksum | cut -c1-8)"; }

# A Docker daemon for node NAME alone, with the engine images of the host's
# daemon (menagerie/* but the app's own), copied over once.
ensure_node_dockerd() {
  local name=$1 dir="$CLUSTER_DIR/$1-docker" sock image remap=()
  sock="$(dockerd_socket "$name")"
  if ! pid_alive "$CLUSTER_DIR/$name-dockerd.pid"; then
    if userns_remap "$name"; then
      remap=(--userns-remap=default)
      # The remapped root must pass through to <data-root>/<uid>.<gid>, or dockerd refuses to start
      # ("a subdirectory in your graphroot path ... restricts access to the remapped root uid/gid").
      mkdir -p "$dir/data"
      chmod o+x "$CLUSTER_DIR" "$dir" "$dir/data"
    fi
    # exec-root holds containerd's socket: a short path under /run.
    mkdir -p "$dir/data" "/run/menagerie/$NAME-$name"
    # Its own bridge, never --bridge=none: that makes dockerd delete the host's docker0.
    ensure_private_bridge "$(dockerd_bridge "$name")"
    # The hardened configuration of docker/daemon, less icc: beside the host's daemon it runs without
    # iptables (which icc needs); engines have no network anyway.
    node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); delete c.icc; process.stdout.write(JSON.stringify(c, null, 2))' \
      "$ROOT/docker/daemon/daemon.json" > "$dir/daemon.json"
    start_process "$name-dockerd" dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "/run/menagerie/$NAME-$name" \
      --pidfile "$dir/dockerd.pid" -H "unix://$sock" --bridge="$(dockerd_bridge "$name")" --iptables=false --ip6tables=false "${remap[@]}"
    (wait_for "$name's Docker daemon" 60 docker -H "unix://$sock" info) || fail_with_log "$name-dockerd"
  fi
  # With a registry, the node pulls what it lacks at its first job, as a machine of its own would.
  [[ "${MENAGERIE_REGISTRY_ENABLED:-}" == true ]] && return 0
  for image in $(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^menagerie/' | grep -v -e '^menagerie/menagerie:' -e '^menagerie/seaweedfs:' -e ':<none>$'); do
    [[ "$(docker -H "unix://$sock" image inspect -f '{{.Id}}' "$image" 2>/dev/null)" == "$(docker image inspect -f '{{.Id}}' "$image")" ]] && continue
    log "copying $image to $name's Docker daemon"
    docker save "$image" | docker -H "unix://$sock" load -q >/dev/null
  done
}


# The log of NAME since byte OFFSET says the worker polls its queues.
worker_ready() { tail -c "+$(($2 + 1))" "$CLUSTER_DIR/$1.log" | grep -q '"msg":"worker ready"'; }

fail_with_log() { die_with_log "$CLUSTER_DIR/$1.log" "$1 did not come up; see $CLUSTER_DIR/$1.log"; }

refuse_busy_port() {
  local port=$1 what=$2
  port_open "$port" || return 0
  if [[ "$port" == "${MENAGERIE_API_PORT:-8100}" ]] && pid_alive "$RUN_DIR/api.pid"; then
    die "the single-box system of scripts/start.sh is on :$port (API pid $(cat "$RUN_DIR/api.pid")). Stop its API and worker first: kill $(cat "$RUN_DIR/api.pid") $(cat "$RUN_DIR/worker.pid" 2>/dev/null) (scripts/stop.sh also stops the shared PostgreSQL, Temporal and SeaweedFS, which is fine too), or choose another MENAGERIE_CLUSTER_PORT."
  fi
  die "port $port ($what) is in use by something this cluster did not start; choose another MENAGERIE_CLUSTER_PORT"
}

# Writes CLUSTER_DIR/haproxy.cfg from the template; fails when that changed it.
write_haproxy_cfg() {
  local servers="" name
  for name in "${API_NAMES[@]}"; do servers+="    server $name 127.0.0.1:$(api_port "$name")"$'\n'; done
  awk -v dir="$CLUSTER_DIR" -v port="$PORT" -v stats="$STATS_PORT" -v servers="${servers%$'\n'}" '
    $0 == "@SERVERS@" { print servers; next }
    { gsub(/@DIR@/, dir); gsub(/@PORT@/, port); gsub(/@STATS_PORT@/, stats); print }
  ' "$ROOT/scripts/haproxy.cfg.tmpl" >"$CLUSTER_DIR/haproxy.cfg.new"
  haproxy -c -q -f "$CLUSTER_DIR/haproxy.cfg.new" || die "the generated HAProxy config is invalid: $CLUSTER_DIR/haproxy.cfg.new"
  if cmp -s "$CLUSTER_DIR/haproxy.cfg.new" "$CLUSTER_DIR/haproxy.cfg"; then rm -f "$CLUSTER_DIR/haproxy.cfg.new"; return 0; fi
  mv "$CLUSTER_DIR/haproxy.cfg.new" "$CLUSTER_DIR/haproxy.cfg"
  return 1
}

cmd_up() {
  ((EUID == 0)) || die "worker nodes run as root (their job volumes are loop-mounted); run this as root"
  pid_alive "$CLUSTER_DIR/haproxy.pid" || refuse_busy_port "$PORT" "HAProxy"
  local name
  for name in "${API_NAMES[@]}"; do pid_alive "$CLUSTER_DIR/$name.pid" || refuse_busy_port "$(api_port "$name")" "$name"; done

  if [[ "${MENAGERIE_SERVICES_READY:-0}" != 1 ]]; then bash "$ROOT/scripts/ensure-services.sh"; fi
  [[ -f apps/api/dist/main.js && -f apps/worker/dist/main.js ]] || die "the apps are not built: npx tsc -b tsconfig.json"
  ensure_temporal
  ensure_haproxy
  ensure_database "$DB"
  ensure_namespace "$NAMESPACE"
  app_env

  # One replica first: it migrates the database (and creates the bucket) alone.
  for name in "${API_NAMES[@]}"; do
    if pid_alive "$CLUSTER_DIR/$name.pid"; then log "$name is running"; continue; fi
    # HAProxy (option forwardfor) on loopback is the one proxy whose X-Forwarded-For counts.
    MENAGERIE_TRUSTED_PROXIES=loopback MENAGERIE_API_HOST=127.0.0.1 MENAGERIE_API_PORT="$(api_port "$name")" start_process "$name" node "$ROOT/apps/api/dist/main.js"
    (wait_for "$name" 90 http_ok "http://127.0.0.1:$(api_port "$name")/health") || fail_with_log "$name"
  done

  # A running HAProxy is kept unless its configuration changed (another number of replicas).
  if write_haproxy_cfg && pid_alive "$CLUSTER_DIR/haproxy.pid"; then log "haproxy is running"
  else
    stop_by_pidfile "$CLUSTER_DIR/haproxy.pid" 10
    start_process haproxy haproxy -db -f "$CLUSTER_DIR/haproxy.cfg"
  fi
  (wait_for "HAProxy" 30 http_ok "$API_URL/health") || fail_with_log haproxy

  local offset socket
  for name in "${NODE_NAMES[@]}"; do
    if pid_alive "$CLUSTER_DIR/$name.pid"; then log "$name is running"; continue; fi
    mkdir -p "$CLUSTER_DIR/$name"
    socket=/var/run/docker.sock
    if own_dockerd "$name"; then ensure_node_dockerd "$name"; socket="$(dockerd_socket "$name")"; fi
    offset=$(stat -c %s "$CLUSTER_DIR/$name.log" 2>/dev/null || echo 0)
    # Nodes share this host: each serves its metrics on a port the OS chooses (its log says which).
    MENAGERIE_NODE_NAME="$name" MENAGERIE_SCRATCH_DIR="$CLUSTER_DIR/$name" DOCKER_SOCKET="$socket" MENAGERIE_METRICS_WORKER_PORT=0 \
      start_process "$name" node "$ROOT/apps/worker/dist/main.js"
    (wait_for "$name" 90 worker_ready "$name" "$offset") || fail_with_log "$name"
  done

  local replicas="" stats="http://localhost:$STATS_PORT/" where="S3 store: bucket $BUCKET at ${MENAGERIE_S3_ENDPOINT:-}"
  [[ "$STORAGE" == s3 ]] || where="fs store: $MENAGERIE_STORAGE_DIR"
  for name in "${API_NAMES[@]}"; do replicas+="http://localhost:$(api_port "$name") "; done
  cat <<MSG

  Menagerie cluster "$NAME" is up ($where; Temporal namespace $NAMESPACE; database $DB).

  API (HAProxy)   $API_URL          (health: $API_URL/health, engines: $API_URL/engines)
  API replicas    $replicas
  Worker nodes    ${NODE_NAMES[*]}   (scratch: $CLUSTER_DIR/<node>${OWN_DOCKERD[*]:+; own Docker daemon: ${OWN_DOCKERD[*]}})
  Admin console   $API_URL/console
  Temporal Web UI $TEMPORAL_UI
  HAProxy stats   $stats
  Logs            $CLUSTER_DIR/*.log

  Try it:
    curl -XPOST $API_URL/filemeta/upload -F "upload=@README.md"
    curl "$API_URL/result/<jobid>?wait=30"   # "node" says which node ran it
    curl -OJ $API_URL/link/<jobid>

  Status: bash scripts/cluster.sh status    Stop: bash scripts/cluster.sh down
  (down leaves PostgreSQL, Temporal and SeaweedFS running: start.sh shares them.)

MSG
}

# Stopped front to back: HAProxy, the replicas, the nodes, which drain
# (their engines get 30 s to finish) before exiting, then nodes' own daemons.
cmd_down() {
  local file name
  for file in "$CLUSTER_DIR"/haproxy.pid "$CLUSTER_DIR"/api-*.pid "$CLUSTER_DIR"/*.pid; do
    [[ -f "$file" && "$file" != *-dockerd.pid ]] || continue
    stop_logged "$file" 90
  done
  for file in "$CLUSTER_DIR"/*-dockerd.pid; do
    [[ -f "$file" ]] || continue
    name="$(basename "$file" .pid)"
    stop_logged "$file" 90
    remove_private_bridge "$(dockerd_bridge "${name%-dockerd}")"
    # Its exec-root (containerd's state, of a remapped daemon too); nothing mounted there is crossed.
    rm -rf --one-file-system "/run/menagerie/$NAME-${name%-dockerd}"
  done
  log "cluster $NAME stopped (PostgreSQL, Temporal and SeaweedFS left running; scripts/stop.sh stops them)"
}

cmd_status() {
  local name state file down=0
  local dockerds=()
  for name in "${OWN_DOCKERD[@]}"; do dockerds+=("$name-dockerd"); done
  for name in haproxy "${API_NAMES[@]}" "${NODE_NAMES[@]}" "${dockerds[@]}"; do
    file="$CLUSTER_DIR/$name.pid"
    if pid_alive "$file"; then state="up (pid $(cat "$file"))"; else state="down"; down=1; fi
    if [[ "$name" == api-* ]]; then
      state+=", :$(api_port "$name")/health $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(api_port "$name")/health" || true)"
    fi
    printf '  %-10s %s\n' "$name" "$state"
  done
  printf '\n  curl %s/health\n  ' "$API_URL"
  curl -sS "$API_URL/health" || down=1
  printf '\n'
  return "$down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart) cmd_down; cmd_up ;;
  *) die "usage: bash scripts/cluster.sh up|down|status|restart" ;;
esac
