#!/usr/bin/env bash
# The compose smoke test: docker-compose.yml really running on this machine,
# beside anything else on it. With its own project name, deployment name,
# free ports, scratch directory and .env file it:
#   1. builds the images (scripts/build-compose-images.sh; skips what is up to date)
#   2. docker-compose up -d, and waits until every service is healthy and a worker reports
#   3. runs the curl flow on both sample engines: POST /<engine>/upload,
#      GET /result/<id>?wait=, GET /link/<id>
#   4. checks the Temporal UI: its page and its API (/api/v1/namespaces), and
#      the optional Prometheus (profile metrics, on here): it scrapes the API
#      and the worker
#   5. --scale worker=2: both nodes live, and jobs run on each of them
#   6. restarts the stack (down without -v, then up): the earlier jobs are
#      still in /result and /jobs
#   7. down -v, and checks nothing of the project is left
# It prints the time of each step, and takes everything down on failure too.
#
#   bash scripts/compose-smoke.sh
#   MENAGERIE_COMPOSE=v2 bash scripts/compose-smoke.sh   # on Compose v2, built into .cache (ensure_compose_v2)
#   MENAGERIE_COMPOSE="docker compose" bash scripts/compose-smoke.sh   # an installed Compose v2 plugin
#   MENAGERIE_SMOKE_KEEP=1 ...   leave the stack up on failure, to look at it
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ensure_docker
use_compose
log "smoke: on $("${COMPOSE[@]}" version | head -n1)"

SUFFIX="$(date +%s)-$$"
PROJECT="menagerie-smoke-$SUFFIX"
WORK="$RUN_DIR/$PROJECT"
SCRATCH="$WORK/scratch"
ENV_FILE="$WORK/.env"
APK="$CACHE_DIR/fixtures/sample.apk"
START=$SECONDS
STEP_START=$SECONDS
STEP=""

step() {
  [[ -n "$STEP" ]] && printf '[smoke] %-62s %4ss\n' "$STEP" "$((SECONDS - STEP_START))" >&2
  STEP="$1"
  STEP_START=$SECONDS
  [[ -n "$STEP" ]] && log "smoke: $STEP"
  return 0
}
fail() {
  printf '\033[1;31m[smoke] FAILED: %s\033[0m\n' "$*" >&2
  exit 1
}

# compose_project PROJECT ENV_FILE ARGS...: compose on a smoke deployment.
compose_project() {
  local project=$1 env_file=$2; shift 2
  "${COMPOSE[@]}" -p "$project" --env-file "$env_file" -f "$ROOT/docker-compose.yml" --profile metrics "$@"
}
dc() { compose_project "$PROJECT" "$ENV_FILE" "$@"; }

left_over() {
  local label="com.docker.compose.project=$PROJECT"
  {
    docker ps -aq --filter "label=$label" | sed 's/^/container /'
    docker ps -aq --filter "label=menagerie.deployment=$PROJECT" | sed 's/^/engine container /'
    docker volume ls -q --filter "label=$label" | sed 's/^/volume /'
    docker network ls -q --filter "label=$label" | sed 's/^/network /'
  } || true
}

# Takes down a smoke deployment: its compose project (when its .env was written),
# the engine containers its workers left (none unless one was killed), the
# scratch directory's mounts, and its directory.
take_down() {
  local project="$1" dir="$2" grace="$3"
  if [[ -f "$dir/.env" ]]; then
    compose_project "$project" "$dir/.env" down -v --remove-orphans -t "$grace" >/dev/null 2>&1 || true
  fi
  docker ps -aq --filter "label=menagerie.deployment=$project" | xargs -r docker rm -f >/dev/null 2>&1 || true
  remove_tree "$dir"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if ((status != 0)); then
    log "smoke: failed; the services' last logs:"
    dc logs --no-color --tail 30 2>&1 | tail -n 120 >&2 || true
    if [[ "${MENAGERIE_SMOKE_KEEP:-0}" == 1 ]]; then
      log "MENAGERIE_SMOKE_KEEP=1: left up; take it down with: ${COMPOSE[*]} -p $PROJECT --env-file $ENV_FILE down -v"
      exit "$status"
    fi
  fi
  take_down "$PROJECT" "$WORK" 30
  exit "$status"
}

# Earlier smoke runs of this checkout whose script was killed before its
# cleanup (a session cut short): their deployment, engine containers and the
# scratch directory's shared bind mount, which would make the next clean
# clone's `rm -rf` fail. Only this checkout's own runs (named after their
# script's pid, under its .run), and only when that pid is gone.
sweep_stale_runs() {
  local dir name pid
  for dir in "$RUN_DIR"/menagerie-smoke-*-*; do
    [[ -d "$dir" ]] || continue
    name="$(basename "$dir")"
    pid="${name##*-}"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -0 "$pid" 2>/dev/null && continue
    log "smoke: removing $name, left by a run that was killed"
    take_down "$name" "$dir" 5
  done
}
sweep_stale_runs

trap cleanup EXIT
trap 'exit 130' INT TERM

API_PORT="$(free_port)"
UI_PORT="$(free_port)"
PROMETHEUS_PORT="$(free_port)"
[[ "$(printf '%s\n' "$API_PORT" "$UI_PORT" "$PROMETHEUS_PORT" | sort -u | wc -l)" == 3 ]] || fail "free ports collided; run again"
API="http://127.0.0.1:$API_PORT"
UI="http://127.0.0.1:$UI_PORT"
PROMETHEUS="http://127.0.0.1:$PROMETHEUS_PORT"
mkdir -p "$SCRATCH"
# The worker's scratch bind is rshared (its job directories' loop mounts must
# reach the host's dockerd), which takes a shared mount on the host; on a host
# whose / is private, the directory becomes a shared mount of its own.
if [[ "$(findmnt -no PROPAGATION -T "$SCRATCH")" != shared* ]]; then
  mount --bind "$SCRATCH" "$SCRATCH"
  mount --make-shared "$SCRATCH"
fi
cat >"$ENV_FILE" <<EOF
# What a second deployment on a shared host sets (README, Deployment).
COMPOSE_PROJECT_NAME=$PROJECT
MENAGERIE_DEPLOYMENT=$PROJECT
MENAGERIE_SCRATCH_DIR=$SCRATCH
MENAGERIE_API_BIND=127.0.0.1
MENAGERIE_API_PUBLISHED_PORT=$API_PORT
MENAGERIE_PUBLIC_URL=$API
TEMPORAL_UI_PUBLISHED_PORT=$UI_PORT
TEMPORAL_UI_URL=$UI
PROMETHEUS_PUBLISHED_PORT=$PROMETHEUS_PORT
MENAGERIE_DB_PASSWORD=smoke-$SUFFIX
MENAGERIE_S3_SECRET_KEY=smoke-secret-$SUFFIX
EOF
log "smoke: project $PROJECT, API $API, UI $UI, scratch $SCRATCH"

# ------------------------------------------------------------------- helpers
# Every container of the project that has a healthcheck is healthy, and all run.
all_healthy() {
  local ids id state
  ids="$(dc ps -q)"
  [[ -n "$ids" ]] || return 1
  for id in $ids; do
    state="$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")"
    [[ "$state" == "running healthy" || "$state" == "running none" ]] || return 1
  done
}

# live_nodes: how many worker nodes /nodes shows live.
live_nodes() { curl -fsS "$API/nodes" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).nodes.filter(n=>n.live).length))'; }
nodes_at_least() { (($(live_nodes) >= $1)); }

# upload ENGINE FILE [QUERY]: prints the new job's id.
upload() {
  local out
  out="$(curl -fsS -XPOST "$API/$1/upload${3:-}" -F "upload=@$2")" || fail "POST /$1/upload"
  json jobid <<<"$out"
}

# finished ID: waits for the job to end (GET /result/<id>?wait=60), checks it
# completed, and prints the node that ran it.
finished() {
  local id=$1 out status tries=0
  while :; do
    out="$(curl -fsS "$API/result/$id?wait=60")" || fail "GET /result/$id"
    status="$(json status <<<"$out")"
    [[ "$status" == queued || "$status" == running ]] || break
    ((++tries < 5)) || fail "job $id still $status after 5 minutes"
  done
  [[ "$status" == completed ]] || fail "job $id ended $status: $out"
  json node <<<"$out"
}

# curl_flow ENGINE FILE: upload, result, link; the job id goes to stdout.
curl_flow() {
  local engine=$1 file=$2 id node headers size
  id="$(upload "$engine" "$file" "?force=true")"
  node="$(finished "$id")"
  headers="$WORK/link-$id.headers"
  size="$(curl -fsS -D "$headers" -o "$WORK/link-$id.body" -w '%{size_download}' "$API/link/$id")" || fail "GET /link/$id"
  ((size > 0)) || fail "GET /link/$id: an empty result"
  grep -qi '^content-disposition: attachment' "$headers" || fail "GET /link/$id: no attachment"
  log "smoke: $engine job $id completed on node $node; /link gave $size bytes"
  printf '%s\n' "$id"
}

# ---------------------------------------------------------------------- steps
step "build the images (scripts/build-compose-images.sh)"
bash "$ROOT/scripts/build-compose-images.sh" postgresql seaweedfs temporal temporal-ui app engines prometheus

step "docker-compose up -d, until healthy and a worker reports"
dc up -d
wait_for "every service healthy" 300 all_healthy
wait_for "a live worker node in /nodes" 120 nodes_at_least 1
# The API holds no Docker socket and runs unprivileged; only the worker has the socket.
api_id="$(dc ps -q api)"
docker inspect -f '{{range .Mounts}}{{.Source}} {{end}}' "$api_id" | grep -q 'docker\.sock' && fail "the API container mounts the Docker socket"
docker exec "$api_id" sh -c 'test ! -e /var/run/docker.sock' || fail "the API container has a Docker socket"
[[ "$(docker exec "$api_id" id -u)" != 0 ]] || fail "the API runs as root"
docker inspect -f '{{range .Mounts}}{{.Source}} {{end}}' "$(dc ps -q worker)" | grep -q '/var/run/docker.sock' || fail "the worker has no Docker socket"

step "curl flow: filemeta (upload, result, link)"
printf 'menagerie compose smoke %s\n' "$SUFFIX" >"$WORK/input.txt"
FILEMETA_JOB="$(curl_flow filemeta "$WORK/input.txt")"

step "curl flow: apktool on sample.apk"
[[ -s "$APK" ]] || bash "$ROOT/scripts/build-fixtures.sh"
APKTOOL_JOB="$(curl_flow apktool "$APK")"

step "Temporal UI: its page and its API"
code="$(curl -sS -o "$WORK/ui.html" -w '%{http_code}' "$UI/")"
[[ "$code" == 200 ]] || fail "GET $UI/ answered $code"
grep -qi '<html' "$WORK/ui.html" || fail "GET $UI/ answered $code"
namespaces="$(curl -fsS "$UI/api/v1/namespaces")" || fail "GET $UI/api/v1/namespaces"
grep -q '"name": *"default"' <<<"$namespaces" || fail "the UI's API lists no namespace default: $namespaces"
# The workflow of the first job, through the UI's API.
curl -fsS -o /dev/null "$UI/api/v1/namespaces/default/workflows?query=$(node -p 'encodeURIComponent(process.argv[1])' "WorkflowId STARTS_WITH \"job-$FILEMETA_JOB\"")" ||
  fail "the UI's API cannot list workflows"

step "Prometheus (profile metrics): the API and the worker scraped"
# up: what prometheus says of each target of a job, once it has scraped it.
target_up() {
  curl -fsS "$PROMETHEUS/api/v1/targets" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const t = JSON.parse(s).data.activeTargets.filter((x) => x.labels.job === process.argv[1]);
      process.exit(t.length > 0 && t.every((x) => x.health === "up") ? 0 : 1);
    });' "$1"
}
for job in menagerie-api menagerie-worker temporal-sdk; do
  wait_for "Prometheus scraping $job" 90 target_up "$job"
done

step "--scale worker=2: jobs on each worker"
dc up -d --no-recreate --scale worker=2
wait_for "two live worker nodes in /nodes" 120 nodes_at_least 2
declare -A ran_on=()
jobs_run=0
while ((${#ran_on[@]} < 2)); do
  ((jobs_run < 24)) || fail "24 jobs ran on only one worker node: ${!ran_on[*]}"
  ids=()
  for n in 1 2 3 4; do
    printf 'scale %s %s\n' "$n" "$jobs_run" >"$WORK/scale.txt"
    ids+=("$(upload filemeta "$WORK/scale.txt" "?force=true")")
  done
  for id in "${ids[@]}"; do ran_on["$(finished "$id")"]=1; done
  jobs_run=$((jobs_run + 4))
done
log "smoke: $jobs_run jobs ran on the nodes ${!ran_on[*]}"

step "restart the stack (down without -v, up): history kept"
dc down -t 60
dc up -d
wait_for "every service healthy again" 300 all_healthy
for id in "$FILEMETA_JOB" "$APKTOOL_JOB"; do
  [[ "$(curl -fsS "$API/result/$id" | json status)" == completed ]] || fail "job $id is not completed after the restart"
  curl -fsS "$API/jobs?limit=100" | grep -q "\"$id\"" || fail "job $id is not in /jobs after the restart"
done
# The stack still runs jobs after its restart.
wait_for "a live worker node after the restart" 120 nodes_at_least 1
curl_flow filemeta "$WORK/input.txt" >/dev/null

step "down -v: nothing of the project left"
dc down -v --remove-orphans -t 60
left="$(left_over)"
[[ -z "$left" ]] || fail "left over after down -v: $left"
step ""
log "compose smoke test passed in $((SECONDS - START))s (project $PROJECT)"
