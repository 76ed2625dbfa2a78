#!/bin/bash
# Starts PostgreSQL in $PGDATA as the `postgres` user. On the first start (an
# empty volume) it initialises the cluster: superuser POSTGRES_USER with
# POSTGRES_PASSWORD (scram-sha-256, also over the network), and the database
# POSTGRES_DB. Later starts reuse the cluster as it is; changing the variables
# then changes nothing. Extra arguments go to `postgres` (e.g. -c key=value).
set -euo pipefail
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
else
  as_postgres() { "$@"; }
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  echo "postgresql-entrypoint: initialising a cluster in $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile" 2>/dev/null || true
  as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  # Every address, password-checked: the compose network is the only way in.
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
max_connections = 200
CONF
  if [[ "$POSTGRES_DB" != postgres ]]; then
    # Single-user mode: nothing listens until the cluster is complete, so the
    # healthcheck never sees a half-made one.
    db="${POSTGRES_DB//\"/\"\"}"
    echo "CREATE DATABASE \"$db\";" | as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi

if [[ "$(id -u)" == 0 ]]; then
  exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" "$@"
fi
exec postgres -D "$PGDATA" "$@"
