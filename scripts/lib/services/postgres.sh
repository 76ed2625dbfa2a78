# shellcheck shell=bash
# PostgreSQL: Debian's, one cluster under $RUN_DIR on loopback, with the fixed
# development login menagerie/menagerie.

PG_PORT="${MENAGERIE_PG_PORT:-5432}"
PG_DATA="$RUN_DIR/postgres"

# postgres_bin: the bin directory of the newest PostgreSQL installed ('' if none).
postgres_bin() { compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n1 || true; }

# pg_admin PSQL_ARGS...: psql as menagerie on the maintenance database.
pg_admin() { PGPASSWORD=menagerie psql -h 127.0.0.1 -p "$PG_PORT" -U menagerie -d postgres "$@"; }

ensure_postgres() {
  local bin
  bin="$(postgres_bin)"
  if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    apt_install postgresql
    bin="$(postgres_bin)"
  fi
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    start_postgres "$bin"
  fi
  ensure_database menagerie
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

# stop_postgres: a fast shutdown of the cluster, if it runs.
stop_postgres() {
  local bin
  bin="$(postgres_bin)"
  if [[ -n "$bin" && -f "$PG_DATA/postmaster.pid" ]]; then
    log "stopping PostgreSQL"
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null || true
  fi
}

# ensure_database NAME: a database of that name in the local PostgreSQL.
ensure_database() {
  local name=$1
  pg_admin -tAc "SELECT 1 FROM pg_database WHERE datname='$name'" | grep -q 1 ||
    pg_admin -qc "CREATE DATABASE \"$name\""
}

# recreate_database NAME: NAME dropped (with its connections) and created empty,
# for a run whose counts must be its own.
recreate_database() {
  pg_admin -qc "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"
  pg_admin -qc "CREATE DATABASE \"$1\""
}
