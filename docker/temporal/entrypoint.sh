#!/bin/bash
# Temporal on PostgreSQL, in one container (what temporalio/auto-setup did):
#   1. create the databases DBNAME and VISIBILITY_DBNAME if missing, and
#      set up or migrate their schemas to this server's version (idempotent;
#      the postgres12 schemas are embedded in temporal-sql-tool);
#   2. start the server (config/docker.yaml, rendered from the environment);
#   3. register DEFAULT_NAMESPACE and the SEARCH_ATTRIBUTES (name=Type,...)
#      in it, then write /tmp/temporal-ready (the healthcheck's marker).
# SIGTERM and SIGINT go to the server.
set -euo pipefail
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must be set}" "${POSTGRES_USER:?POSTGRES_USER must be set}" "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
export DB_PORT="${DB_PORT:-5432}" DBNAME="${DBNAME:-temporal}" VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
NAMESPACE="${DEFAULT_NAMESPACE:-default}"
RETENTION="${DEFAULT_NAMESPACE_RETENTION:-720h}"
SEARCH_ATTRIBUTES="${SEARCH_ATTRIBUTES:-}"
ADDRESS="127.0.0.1:7233"
READY=/tmp/temporal-ready
rm -f "$READY"

say() { echo "temporal-entrypoint: $*"; }

# The tool reads these; the password stays off the command line.
export SQL_PLUGIN=postgres12 SQL_HOST="$POSTGRES_SEEDS" SQL_PORT="$DB_PORT" SQL_USER="$POSTGRES_USER" SQL_PASSWORD="$POSTGRES_PWD"

until (exec 3<>"/dev/tcp/$POSTGRES_SEEDS/$DB_PORT") 2>/dev/null; do
  say "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"; sleep 1
done

# quiet COMMAND...: its output only if it fails (the tool logs every statement).
quiet() {
  local out
  out="$("$@" 2>&1)" || { printf '%s\n' "$out" >&2; return 1; }
}

schema() {
  local db=$1 name=$2 out
  if ! out="$(temporal-sql-tool --db "$db" create-database --defaultdb postgres 2>&1)"; then
    grep -q 'already exists' <<<"$out" || { printf '%s\n' "$out" >&2; return 1; }
  fi
  quiet temporal-sql-tool --db "$db" setup-schema -v 0.0
  quiet temporal-sql-tool --db "$db" update-schema --schema-name "postgresql/v12/$name"
  say "database $db: schema postgresql/v12/$name is current"
}
schema "$DBNAME" temporal
schema "$VISIBILITY_DBNAME" visibility

export TEMPORAL_BROADCAST_ADDRESS="${TEMPORAL_BROADCAST_ADDRESS:-$(hostname -i | awk '{print $1}')}"
# No authorizer (as auto-setup): whoever reaches port 7233 may do anything,
# so docker-compose.yml publishes nothing of it.
temporal-server --root / --config etc/temporal/config --env docker --allow-no-auth start &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT

cli() { temporal "$@" --address "$ADDRESS" >/dev/null 2>&1; }
until cli operator cluster health; do
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
  sleep 1
done
if ! cli operator namespace describe --namespace "$NAMESPACE"; then
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS" >/dev/null
  say "namespace $NAMESPACE created"
fi
# A namespace just made takes a moment to reach every service.
until cli operator namespace describe --namespace "$NAMESPACE"; do sleep 1; done
IFS=, read -ra attributes <<<"$SEARCH_ATTRIBUTES"
for pair in "${attributes[@]}"; do
  name="${pair%%=*}" type="${pair#*=}"
  [[ -n "$name" ]] || continue
  until temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" 2>/dev/null | grep -qw -- "$name"; do
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type" --address "$ADDRESS" >/dev/null 2>&1 || sleep 1
  done
  say "search attribute $name ($type) is registered"
done
touch "$READY"
say "ready: namespace $NAMESPACE on $ADDRESS"

# Until the server exits: a trapped signal interrupts the first wait.
status=0
wait "$server" || status=$?
if kill -0 "$server" 2>/dev/null; then
  status=0
  wait "$server" || status=$?
fi
exit "$status"
