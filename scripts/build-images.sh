#!/usr/bin/env bash
# Builds the Docker images the engines run in. Idempotent: a second run only
# checks labels and returns.
#
#   bash scripts/build-images.sh                 # base image + every engine
#   bash scripts/build-images.sh apktool         # only some (dir names or image refs)
#   bash scripts/build-images.sh menagerie/filemeta:stable
#   bash scripts/build-images.sh --push [NAMES]  # then push them to the private registry
#
# --push tags each engine image <registry>/<name> (menagerie/filemeta:stable
# goes to <host:port>/menagerie/filemeta:stable, what "{{regserver}}/filemeta:stable"
# in engines.json names with regserver <host:port>/menagerie) and pushes it.
# The registry and its login come from MENAGERIE_REGISTRY_ADDRESS and
# DOCKER_CONFIG, or else from the file scripts/registry.sh up writes
# (MENAGERIE_REGISTRY_ENV, default .run/registry/registry.env).
#
# Images:
#   menagerie/debian:bookworm  debootstrap'd minbase rootfs, `docker import`ed
#                              (no registry is reachable, so no `docker pull`).
#                              The rootfs tarball is cached in $CACHE_DIR.
#   one image per engines/<dir>/Dockerfile: named by engines/<dir>/IMAGE if that
#   file exists, else menagerie/<dir>:stable.
#
# An engine image is rebuilt only when its label org.menagerie.context-hash
# differs from the hash of its build context (every file's path, mode and
# content, plus the IDs of the images its FROM lines name).
#
# Environment:
#   MENAGERIE_DEBIAN_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   MENAGERIE_DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   MENAGERIE_REBUILD=1               rebuild the engine images even when up to date
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# BASE_IMAGE (menagerie/debian:bookworm) and HASH_LABEL: lib/images.sh.
SUITE="bookworm"
DEBIAN_MIRROR="${MENAGERIE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MENAGERIE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
ROOTFS_TAR="$CACHE_DIR/rootfs/debian-$SUITE-minbase-amd64.tar.gz"
ENGINES_DIR="$ROOT/engines"
use_classic_builder

ensure_docker

# One build at a time (parallel test runs may all call this script).
hold_lock "$CACHE_DIR/build-images.lock"

# ---------------------------------------------------------------- base image
build_rootfs_tarball() {
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local work dir
  work="$(mktemp -d "${TMPDIR:-/tmp}/menagerie-rootfs.XXXXXX")"
  dir="$work/rootfs"
  # debootstrap mounts /proc and /sys in the target; never rm -rf across a mount.
  # shellcheck disable=SC2064 # $work is expanded now, on purpose: it is local
  trap "remove_tree '$work'" EXIT
  log "debootstrap --variant=minbase $SUITE ($DEBIAN_MIRROR); takes a few minutes"
  if ! debootstrap --variant=minbase --arch=amd64 "$SUITE" "$dir" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1; then
    tail -n 40 "$work/debootstrap.log" >&2
    [[ -f "$dir/debootstrap/debootstrap.log" ]] && tail -n 40 "$dir/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  unmount_under "$dir"

  # Container-friendly tweaks, in the spirit of the official debian images.
  cat >"$dir/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $SUITE main
deb $DEBIAN_MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  cat >"$dir/etc/apt/apt.conf.d/90menagerie" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order:: "gz";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
  cat >"$dir/etc/dpkg/dpkg.cfg.d/90menagerie" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin \
    "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log "$dir"/var/log/apt/* \
    "$dir"/usr/share/info/* "$dir"/debootstrap "$dir"/tmp/* \
    "$dir"/etc/hostname "$dir"/etc/resolv.conf
  # Man pages go, but the directories stay: update-alternatives (e.g. OpenJDK's
  # postinst) fails when /usr/share/man/man1 is missing.
  find "$dir/usr/share/man" -not -type d -delete
  mkdir -p "$dir"/usr/share/man/man{1,2,3,4,5,6,7,8}
  find "$dir/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  : >"$dir/etc/machine-id"

  mkdir -p "$(dirname "$ROOTFS_TAR")"
  tar --numeric-owner --xattrs -C "$dir" -c . | gzip -1 >"$ROOTFS_TAR.part"
  mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
  log "cached rootfs: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
  remove_tree "$work"
  trap - EXIT
}

import_base_image() {
  if image_exists "$BASE_IMAGE"; then return; fi
  [[ -s "$ROOTFS_TAR" ]] || build_rootfs_tarball
  log "docker import $BASE_IMAGE"
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["/bin/bash"]' \
    -m "debootstrap --variant=minbase $SUITE" \
    "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
}

# ------------------------------------------------------------- engine images
engine_image_name() {
  local dir=$1 name
  if [[ -f "$dir/IMAGE" ]]; then
    name="$(tr -d '[:space:]' <"$dir/IMAGE")"
    [[ -n "$name" ]] || die "$dir/IMAGE is empty"
    printf '%s\n' "$name"
  else
    printf 'menagerie/%s:stable\n' "$(basename "$dir")"
  fi
}

declare -A DIR_OF_IMAGE=() BUILT=()
ENGINE_DIRS=()
for dockerfile in "$ENGINES_DIR"/*/Dockerfile; do
  [[ -f "$dockerfile" ]] || continue
  d="$(dirname "$dockerfile")"
  ENGINE_DIRS+=("$d")
  DIR_OF_IMAGE["$(engine_image_name "$d")"]="$d"
done

build_engine() {
  local dir=$1 image hash from
  image="$(engine_image_name "$dir")"
  [[ -n "${BUILT[$image]:-}" ]] && return
  BUILT[$image]=1
  # Whatever the Dockerfile builds FROM goes first: the base image, or another
  # engine's image.
  for from in $(from_images "$dir"); do
    if [[ "$from" == "$BASE_IMAGE" ]]; then import_base_image
    elif [[ -n "${DIR_OF_IMAGE[$from]:-}" ]]; then build_engine "${DIR_OF_IMAGE[$from]}"
    fi
  done
  hash="$(context_hash "$dir")"
  image_current "$image" "$hash" && return
  log "building $image from ${dir#"$ROOT"/}"
  if grep -q 'build-ca\.crt' "$dir/Dockerfile"; then
    build_with_host_ca "$image" "$hash" "$dir"
  else
    build_labelled "$image" "$hash" "$dir"
  fi
}

# build_with_host_ca IMAGE HASH DIR: a Dockerfile that names build-ca.crt
# (pip in its build must trust what the host trusts, as build-compose-images.sh
# gives seaweedfs's) builds from a copy of DIR with the host's CA bundle in it.
build_with_host_ca() {
  local image=$1 hash=$2 dir=$3 ctx
  ctx="$(mktemp -d "${TMPDIR:-/tmp}/menagerie-engine-context.XXXXXX")"
  cp -a "$dir/." "$ctx/"
  cp "$HOST_CA_BUNDLE" "$ctx/build-ca.crt"
  build_labelled "$image" "$hash" "$ctx" || { rm -rf "$ctx"; return 1; }
  rm -rf "$ctx"
}

PUSH=0
args=()
for arg in "$@"; do
  if [[ "$arg" == --push ]]; then PUSH=1; else args+=("$arg"); fi
done
set -- "${args[@]}"

# Which engines: all, or those named on the command line.
selected=()
if (($# == 0)); then
  selected=("${ENGINE_DIRS[@]}")
  import_base_image
else
  for arg in "$@"; do
    case "$arg" in
      "$BASE_IMAGE" | base) import_base_image; continue ;;
    esac
    if [[ -n "${DIR_OF_IMAGE[$arg]:-}" ]]; then selected+=("${DIR_OF_IMAGE[$arg]}")
    elif [[ -f "$ENGINES_DIR/$arg/Dockerfile" ]]; then selected+=("$ENGINES_DIR/$arg")
    elif [[ -n "${DIR_OF_IMAGE[$arg:stable]:-}" ]]; then selected+=("${DIR_OF_IMAGE[$arg:stable]}")
    else die "unknown image or engine: $arg (known: $BASE_IMAGE ${!DIR_OF_IMAGE[*]})"
    fi
  done
fi

for d in "${selected[@]}"; do
  build_engine "$d"
done

# Pushes IMAGE to the registry under <registry>/IMAGE; prints that and its digest.
push_image() {
  local image=$1 target out digest
  target="$MENAGERIE_REGISTRY_ADDRESS/$image"
  docker tag "$image" "$target"
  out="$(docker push "$target" 2>&1)" || { printf '%s\n' "$out" >&2; die "docker push $target failed (output above)"; }
  digest="$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' <<<"$out" | tail -n1)"
  log "pushed $target ($digest)"
  printf '%s@%s\n' "$target" "$digest"
}

if ((PUSH)); then
  if [[ -z "${MENAGERIE_REGISTRY_ADDRESS:-}" ]]; then
    registry_env="${MENAGERIE_REGISTRY_ENV:-$RUN_DIR/registry/registry.env}"
    [[ -f "$registry_env" ]] || die "--push: no registry (set MENAGERIE_REGISTRY_ADDRESS and DOCKER_CONFIG, or run: bash scripts/registry.sh up)"
    load_env "$registry_env"
  fi
  export DOCKER_CONFIG
  for d in "${selected[@]}"; do
    push_image "$(engine_image_name "$d")"
  done
fi
