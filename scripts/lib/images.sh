# shellcheck shell=bash
# Docker images built here: the debootstrap base every image is FROM, labels,
# and a build that records the hash of its inputs.

# scripts/build-images.sh makes it (no registry is reachable, so no `docker pull`).
BASE_IMAGE="menagerie/debian:bookworm"
# The hash of an image's inputs, on the image: it is rebuilt when they change.
HASH_LABEL="org.menagerie.context-hash"
# What the host trusts, given to npm and pip inside builds.
# shellcheck disable=SC2034 # for the build scripts
HOST_CA_BUNDLE="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"

# The client may be newer than the daemon and have no buildx plugin: use the
# classic builder explicitly.
use_classic_builder() { export DOCKER_BUILDKIT=0; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# image_id IMAGE: its ID, or "missing".
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || echo missing; }

# image_label IMAGE LABEL: the label's value on IMAGE ('' if none or no image).
image_label() {
  docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

# image_current IMAGE HASH: IMAGE is labelled HASH (and MENAGERIE_REBUILD=1 is
# not set); says so.
image_current() {
  [[ "$(image_label "$1" "$HASH_LABEL")" == "$2" && "${MENAGERIE_REBUILD:-0}" != 1 ]] || return 1
  log "$1 is up to date"
}

# build_labelled IMAGE HASH [DOCKER_BUILD_ARGS...] CONTEXT: docker build of
# IMAGE, labelled HASH, its output shown only if it fails.
build_labelled() {
  local image=$1 hash=$2 old_id logf start
  shift 2
  old_id="$(image_id "$image")"
  logf="$(mktemp)"
  start=$SECONDS
  if ! docker build --pull=false --force-rm --label "$HASH_LABEL=$hash" -t "$image" "$@" >"$logf" 2>&1; then
    cat "$logf" >&2
    rm -f "$logf"
    die "docker build of $image failed (output above)"
  fi
  rm -f "$logf"
  log "built $image in $((SECONDS - start))s"
  # Drop the image this one replaced, unless something still uses it.
  if [[ "$old_id" != missing && "$old_id" != "$(image_id "$image")" ]]; then
    docker rmi "$old_id" >/dev/null 2>&1 || true
  fi
}

# from_images DIR: the images DIR/Dockerfile's FROM lines name (stage names and ARGs aside).
from_images() {
  awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' "$1/Dockerfile"
}

# context_hash DIR: the hash of a build context (every file's path, mode and
# content) and of the IDs of the images its FROM lines name.
context_hash() {
  local dir=$1 from
  {
    file_digests "$dir" . -type f
    for from in $(from_images "$dir"); do
      printf 'FROM %s %s\n' "$from" "$(image_id "$from")"
    done
  } | sha256sum | cut -d' ' -f1
}

ensure_base_image() {
  image_exists "$BASE_IMAGE" || bash "$ROOT/scripts/build-images.sh" base
}

ensure_images() {
  bash "$ROOT/scripts/build-images.sh"
}
