#!/usr/bin/env bash
# A private Docker registry for the engine images, secured: TLS with a CA of
# its own, and htpasswd (bcrypt) authentication. Debian's docker-registry
# (distribution 2.8).
#
#   bash scripts/registry.sh up       # generate what is missing, serve, log in
#   bash scripts/registry.sh down     # stop serving, forget the CA and the login
#   bash scripts/registry.sh purge    # down, then delete its directory (images too)
#   bash scripts/registry.sh env      # print the settings the apps need (registry.env)
#
# Idempotent: up reuses the certificates, the password and the stored images,
# and restarts the server only if it is not running.
#
# It serves on a non-loopback address, the docker bridge's (172.17.0.1) by
# default: Docker treats 127.0.0.0/8 as an insecure registry, which would hide
# a certificate error. The daemon trusts the CA through
# /etc/docker/certs.d/<host:port>/ca.crt (read at each pull, no restart).
# The CLI's credentials live under DIR/docker (DOCKER_CONFIG), never in
# ~/.docker.
#
# Environment:
#   MENAGERIE_REGISTRY_DIR   certificates, htpasswd, config, data, log (.run/registry)
#   MENAGERIE_REGISTRY_HOST  the address to serve on (docker0's, else the host's own)
#   MENAGERIE_REGISTRY_PORT  (5000)
#   MENAGERIE_REGISTRY_USER  the one user (menagerie); its password is generated
#                            once into DIR/password
#
# DIR/registry.env holds what the apps and build-images.sh --push read:
#   MENAGERIE_REGISTRY_ADDRESS, _USERNAME, _PASSWORD, MENAGERIE_REGSERVER
#   (<host:port>/menagerie, what {{regserver}} in engines.json becomes) and
#   DOCKER_CONFIG. Source it, then set MENAGERIE_REGISTRY_ENABLED=true.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

DIR="${MENAGERIE_REGISTRY_DIR:-$RUN_DIR/registry}"
HOST="${MENAGERIE_REGISTRY_HOST:-$(ip -4 -o addr show docker0 2>/dev/null | awk '{split($4, a, "/"); print a[1]}' | head -n1 || true)}"
HOST="${HOST:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n1 || true)}"
[[ -n "$HOST" ]] || die "no address to serve on: set MENAGERIE_REGISTRY_HOST (not 127.x: Docker treats loopback registries as insecure)"
PORT="${MENAGERIE_REGISTRY_PORT:-5000}"
USER_NAME="${MENAGERIE_REGISTRY_USER:-menagerie}"
ADDRESS="$HOST:$PORT"
CERTS_D="/etc/docker/certs.d/$ADDRESS"

ensure_tools() {
  ensure_command docker-registry docker-registry
  ensure_command htpasswd apache2-utils
  ensure_command openssl openssl
}

# A CA, and a server certificate it signs for HOST (an IP SAN, as clients dial it).
ensure_certificates() {
  mkdir -p "$DIR/tls"
  chmod 700 "$DIR/tls"
  if [[ ! -s "$DIR/tls/ca.key" || ! -s "$DIR/tls/ca.crt" ]]; then
    log "generating the registry's CA"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=Menagerie registry CA" -keyout "$DIR/tls/ca.key" -out "$DIR/tls/ca.crt" 2>/dev/null
    rm -f "$DIR/tls/server.crt"
  fi
  # A certificate for another address (MENAGERIE_REGISTRY_HOST changed) is made anew.
  if [[ -s "$DIR/tls/server.crt" ]] && ! openssl x509 -in "$DIR/tls/server.crt" -noout -checkip "$HOST" 2>/dev/null | grep -q 'does match'; then
    rm -f "$DIR/tls/server.crt"
  fi
  if [[ ! -s "$DIR/tls/server.crt" ]]; then
    log "generating the registry's certificate for $HOST"
    local san
    if [[ "$HOST" =~ ^[0-9.]+$ ]]; then san="IP:$HOST"; else san="DNS:$HOST"; fi
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$HOST" \
      -keyout "$DIR/tls/server.key" -out "$DIR/tls/server.csr" 2>/dev/null
    openssl x509 -req -in "$DIR/tls/server.csr" -CA "$DIR/tls/ca.crt" -CAkey "$DIR/tls/ca.key" -CAcreateserial \
      -days 825 -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san") \
      -out "$DIR/tls/server.crt" 2>/dev/null
    rm -f "$DIR/tls/server.csr"
  fi
  chmod 600 "$DIR/tls/"*.key
}

ensure_htpasswd() {
  if [[ ! -s "$DIR/password" ]]; then
    (umask 077 && openssl rand -hex 24 >"$DIR/password")
    rm -f "$DIR/htpasswd"
  fi
  if [[ ! -s "$DIR/htpasswd" ]] || ! htpasswd -vbB "$DIR/htpasswd" "$USER_NAME" "$(cat "$DIR/password")" >/dev/null 2>&1; then
    (umask 077 && htpasswd -Bbn "$USER_NAME" "$(cat "$DIR/password")" >"$DIR/htpasswd")
  fi
}

write_config() {
  [[ -s "$DIR/http.secret" ]] || (umask 077 && openssl rand -hex 32 >"$DIR/http.secret")
  (umask 077 && cat >"$DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
http:
  addr: $ADDRESS
  secret: $(cat "$DIR/http.secret")
  tls:
    certificate: $DIR/tls/server.crt
    key: $DIR/tls/server.key
auth:
  htpasswd:
    realm: menagerie-registry
    path: $DIR/htpasswd
EOF
  )
}

write_env() {
  (umask 077 && cat >"$DIR/registry.env" <<EOF
MENAGERIE_REGISTRY_ADDRESS=$ADDRESS
MENAGERIE_REGISTRY_USERNAME=$USER_NAME
MENAGERIE_REGISTRY_PASSWORD=$(cat "$DIR/password")
MENAGERIE_REGSERVER=$ADDRESS/menagerie
DOCKER_CONFIG=$DIR/docker
EOF
  )
}

# The registry answers its API over TLS with our CA (401 without credentials: it is up).
answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DIR/tls/ca.crt" "https://$ADDRESS/v2/" 2>/dev/null)" || return 1
  [[ "$code" == 401 ]]
}

up() {
  ensure_tools
  ensure_docker
  mkdir -p "$DIR/data"
  ensure_certificates
  ensure_htpasswd
  write_config
  write_env
  if ! pid_alive "$DIR/registry.pid"; then
    if port_listening "$PORT"; then
      die "$ADDRESS is in use by something this script did not start; choose another MENAGERIE_REGISTRY_PORT"
    fi
    log "starting the registry on https://$ADDRESS (log: $DIR/registry.log)"
    detach "$DIR/registry.log" "$DIR/registry.pid" docker-registry serve "$DIR/config.yml"
  fi
  (wait_for "the registry on $ADDRESS" 30 answers) || die_with_log "$DIR/registry.log" "the registry on $ADDRESS did not answer (its log above)" 20
  # The daemon trusts the CA for this address only.
  mkdir -p "$CERTS_D"
  cmp -s "$DIR/tls/ca.crt" "$CERTS_D/ca.crt" || install -m 644 "$DIR/tls/ca.crt" "$CERTS_D/ca.crt"
  DOCKER_CONFIG="$DIR/docker" docker login "$ADDRESS" --username "$USER_NAME" --password-stdin <"$DIR/password" >/dev/null
  log "registry up: https://$ADDRESS (user $USER_NAME; settings in $DIR/registry.env)"
  echo "$DIR/registry.env"
}

down() {
  stop_by_pidfile "$DIR/registry.pid" 10
  rm -rf "$CERTS_D" "$DIR/docker"
  log "registry on $ADDRESS stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  purge) down; rm -rf "$DIR" ;;
  env) cat "$DIR/registry.env" ;;
  *) die "usage: $0 up|down|purge|env" ;;
esac
