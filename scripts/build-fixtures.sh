#!/usr/bin/env bash
# Builds the test fixtures that can't live in git as binaries:
#
#   $CACHE_DIR/fixtures/sample.apk   from test/fixtures/apk-src (an apktool
#                                    project), with `apktool b` run inside the
#                                    menagerie/apktool:stable image (Debian's
#                                    apktool + aapt/aapt2 from the `aapt`
#                                    package). Unsigned; package org.menagerie.sample.
#
# Idempotent: skips the build when sample.apk is newer than every file under
# apk-src. After a build it checks that the apktool engine decodes the APK
# back to AndroidManifest.xml (package org.menagerie.sample) and both smali
# classes. Flags: --force rebuilds; --verify re-checks an up-to-date APK.
# Prints the APK's path on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

IMAGE="menagerie/apktool:stable"
SRC="$ROOT/test/fixtures/apk-src"
OUT_DIR="$CACHE_DIR/fixtures"
APK="$OUT_DIR/sample.apk"
PACKAGE="org.menagerie.sample"
EXPECTED=(
  AndroidManifest.xml
  apktool.yml
  res/values/strings.xml
  smali/org/menagerie/sample/MainActivity.smali
  smali/org/menagerie/sample/Greeter.smali
)
# The engines' containment, as the worker runs them.
# shellcheck disable=SC2054 # the comma is tmpfs's option list, not an array separator
CONTAINMENT=(--network none --read-only --tmpfs /tmp:rw,size=64m --cap-drop ALL
  --security-opt no-new-privileges --user 1000:1000)

force=0 verify=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --verify) verify=1 ;;
    *) die "usage: $0 [--force] [--verify]" ;;
  esac
done

ensure_docker
bash "$ROOT/scripts/build-images.sh" "$IMAGE"

WORK=""
cleanup() { [[ -n "$WORK" ]] && rm -rf "$WORK"; }
trap cleanup EXIT

# verify_apk APK: decode it with the apktool engine and check the tree.
verify_apk() {
  local apk=$1 job out
  job="$WORK/verify"
  mkdir -p "$job"
  cp "$apk" "$job/sample.apk"
  chown -R 1000:1000 "$job"
  if ! out="$(docker run --rm "${CONTAINMENT[@]}" -v "$job:/var/data" \
    -e MENAGERIE_MOUNTPOINT=/var/data -e MENAGERIE_INPUT=sample.apk "$IMAGE" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "the apktool engine failed to decode $apk"
  fi
  [[ -s "$job/result" ]] || die "the apktool engine wrote no result"
  mkdir -p "$job/decoded"
  tar -xzf "$job/result" -C "$job/decoded"
  local f
  for f in "${EXPECTED[@]}"; do
    [[ -f "$job/decoded/$f" ]] || die "decoded APK lacks $f"
  done
  grep -q "package=\"$PACKAGE\"" "$job/decoded/AndroidManifest.xml" ||
    die "decoded AndroidManifest.xml does not name package $PACKAGE"
  grep -q 'Hello from the Menagerie sample APK' "$job/decoded/res/values/strings.xml" ||
    die "decoded strings.xml lacks the greeting"
  log "verified: the apktool engine decodes $(basename "$apk") to ${#EXPECTED[@]} expected files, package $PACKAGE"
  rm -rf "$job"
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/menagerie-fixtures.XXXXXX")"
chmod 755 "$WORK"

if ((force == 0)) && [[ -s "$APK" ]] && [[ -z "$(find "$SRC" -newer "$APK" -print -quit)" ]]; then
  log "fixture $APK is up to date"
  ((verify == 1)) && verify_apk "$APK"
  printf '%s\n' "$APK"
  exit 0
fi

log "building $APK from ${SRC#"$ROOT"/} (apktool b)"
mkdir -p "$WORK/job"
cp -a "$SRC" "$WORK/job/src"
chown -R 1000:1000 "$WORK/job"
if ! out="$(docker run --rm "${CONTAINMENT[@]}" -v "$WORK/job:/var/data" \
  --entrypoint apktool "$IMAGE" -JXX:-UsePerfData b -o /var/data/sample.apk /var/data/src 2>&1)"; then
  printf '%s\n' "$out" >&2
  die "apktool b failed"
fi
[[ -s "$WORK/job/sample.apk" ]] || { printf '%s\n' "$out" >&2; die "apktool b wrote no APK"; }

verify_apk "$WORK/job/sample.apk"

mkdir -p "$OUT_DIR"
install -m 0644 "$WORK/job/sample.apk" "$APK.partial"
mv -f "$APK.partial" "$APK"
log "built $APK ($(stat -c %s "$APK") bytes)"
printf '%s\n' "$APK"
