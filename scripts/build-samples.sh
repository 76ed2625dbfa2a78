#!/usr/bin/env bash
# Builds the test samples the engines' tests analyse: files made here, from
# source or with Debian's tools, never downloaded (a PE built with mingw-w64,
# an ELF, an Office document with a macro, a PDF, archives, an e-mail, ...).
#
#   bash scripts/build-samples.sh            # every group
#   bash scripts/build-samples.sh pe office  # only these
#
# One group per directory test/fixtures/samples/<group>/: a Dockerfile (the
# builder's tools, FROM menagerie/debian:bookworm or an engine's image, which
# is built first when it is missing) and make.sh, which the
# builder runs without network, as root, with /src the group's directory
# (read-only) and /out where the samples go. They land in
# $CACHE_DIR/fixtures/samples/<group>/. Idempotent: a group is made again only
# when its directory (or its builder's base) changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SAMPLES_SRC="$ROOT/test/fixtures/samples"
SAMPLES_OUT="$CACHE_DIR/fixtures/samples"
STAMP=.context-hash
use_classic_builder
ensure_docker
ensure_base_image
hold_lock "$CACHE_DIR/build-samples.lock"

# build_group DIR: the group's builder image, then its samples, unless both are current.
build_group() {
  local dir=$1 group hash image out work from
  group="$(basename "$dir")"
  [[ -f "$dir/Dockerfile" && -f "$dir/make.sh" ]] || die "$dir needs a Dockerfile and a make.sh"
  for from in $(from_images "$dir"); do
    image_exists "$from" || bash "$ROOT/scripts/build-images.sh" "$from"
  done
  hash="$(context_hash "$dir")"
  out="$SAMPLES_OUT/$group"
  if [[ -f "$out/$STAMP" && "$(cat "$out/$STAMP")" == "$hash" && "${MENAGERIE_REBUILD:-0}" != 1 ]]; then
    log "samples $group are up to date"
    return
  fi
  image="menagerie/samples-$group:build"
  image_current "$image" "$hash" || build_labelled "$image" "$hash" "$dir"
  work="$(mktemp -d "$SAMPLES_OUT/.$group.XXXXXX")"
  log "making samples $group"
  if ! docker run --rm --network none -v "$dir:/src:ro" -v "$work:/out" -w /out "$image" bash /src/make.sh >"$work.log" 2>&1; then
    cat "$work.log" >&2
    rm -rf "$work" "$work.log"
    die "making samples $group failed (output above)"
  fi
  rm -f "$work.log"
  chmod -R a+rX "$work"
  printf '%s\n' "$hash" >"$work/$STAMP"
  rm -rf "$out"
  mv "$work" "$out"
  log "samples $group: $(find "$out" -type f ! -name "$STAMP" | wc -l) files in ${out#"$ROOT"/}"
}

mkdir -p "$SAMPLES_OUT"
groups=("$@")
if ((${#groups[@]} == 0)); then
  for d in "$SAMPLES_SRC"/*/; do [[ -f "$d/Dockerfile" ]] && groups+=("$(basename "$d")"); done
fi
for g in "${groups[@]}"; do
  [[ -d "$SAMPLES_SRC/$g" ]] || die "no sample group $g (test/fixtures/samples/$g)"
  build_group "$SAMPLES_SRC/$g"
done
