#!/usr/bin/env bash
# Optional: builds the Menagerie app image (the root Dockerfile) on a machine
# that cannot pull node:20-bookworm-slim. Nothing else calls it.
#
#   bash scripts/build-app-image.sh                              # -> menagerie/menagerie:latest
#   bash scripts/build-app-image.sh menagerie/menagerie:test     # another tag
#   MENAGERIE_NODE_IMAGE=node:20-bookworm-slim bash scripts/build-app-image.sh
#                                                                # a real base, skip the stand-in
#
# The stand-in base, menagerie/node:20, is menagerie/debian:bookworm (made by
# scripts/build-images.sh) plus this machine's own node binary and npm, with a
# `node` user (uid 1000) like the official image, and the host's CA bundle
# (NODE_EXTRA_CA_CERTS), so npm inside the build trusts what the host trusts,
# a TLS-intercepting proxy included. It is rebuilt only when the host's node,
# npm or CA bundle changes (label org.menagerie.node). The host node must be
# 20.x, linked against glibc <= bookworm's (NodeSource's build is). Images
# built on the stand-in inherit NODE_EXTRA_CA_CERTS: they are for this machine.
#
# The app image build itself needs the npm registry (npm ci runs inside it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TAG="${1:-menagerie/menagerie:latest}"
NODE_IMAGE="${MENAGERIE_NODE_IMAGE:-menagerie/node:20}"
STANDIN="menagerie/node:20"
use_classic_builder

ensure_docker

ensure_standin() {
  local node_bin npm_dir version want have ctx ca_bundle ca_hash
  node_bin="$(command -v node)" || die "no node on this machine to put in $STANDIN"
  node_bin="$(readlink -f "$node_bin")"
  version="$("$node_bin" -v)"
  [[ "$version" == v20.* ]] || die "host node is $version; $STANDIN needs 20.x"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [[ -f "$npm_dir/package.json" ]] || die "cannot find npm's directory (got $npm_dir)"
  ca_bundle="$HOST_CA_BUNDLE"
  [[ -s "$ca_bundle" ]] || die "no CA bundle at $ca_bundle (set NODE_EXTRA_CA_CERTS)"
  ca_hash="$(sha256sum <"$ca_bundle" | cut -c1-12)"
  want="node=$version npm=$(node -p "require('$npm_dir/package.json').version") ca=$ca_hash"
  have="$(image_label "$STANDIN" org.menagerie.node)"
  if [[ "$have" == "$want" ]]; then
    log "$STANDIN is up to date ($want)"
    return
  fi
  ensure_base_image
  ctx="$(mktemp -d "${TMPDIR:-/tmp}/menagerie-node.XXXXXX")"
  # shellcheck disable=SC2064 # $ctx is expanded now, on purpose: it is local
  trap "rm -rf '$ctx'" EXIT
  cp "$node_bin" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  cp "$ca_bundle" "$ctx/ca-certificates.crt"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node -v && npm -v
LABEL org.menagerie.node="$want"
CMD ["node"]
EOF
  log "building $STANDIN ($want)"
  docker build --pull=false --force-rm -q ${MENAGERIE_BUILD_NETWORK:+--network "$MENAGERIE_BUILD_NETWORK"} -t "$STANDIN" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
}

if [[ "$NODE_IMAGE" == "$STANDIN" ]]; then ensure_standin; fi

log "building $TAG on $NODE_IMAGE"
# MENAGERIE_BUILD_LABEL (key=value) labels the image (build-compose-images.sh
# records its inputs' hash so); MENAGERIE_BUILD_NETWORK is docker build --network.
docker build --pull=false --force-rm --build-arg "NODE_IMAGE=$NODE_IMAGE" \
  ${MENAGERIE_BUILD_LABEL:+--label "$MENAGERIE_BUILD_LABEL"} \
  ${MENAGERIE_BUILD_NETWORK:+--network "$MENAGERIE_BUILD_NETWORK"} -t "$TAG" "$ROOT"
