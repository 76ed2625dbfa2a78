#!/bin/bash
# apktool engine: decode an APK and hand back the decoded tree.
#
# Input : $MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT   (default /var/data/sample.apk)
# Output: $MENAGERIE_MOUNTPOINT/result — a gzip'd tar of the decoded tree
#         (AndroidManifest.xml, apktool.yml, res/, smali/, ... at the root,
#         as `tar -czf result -C decoded .` makes it).
# Exit  : 0 on success; 2 when the input is missing or the mountpoint is not
#         writable; 3 when apktool fails to decode; 4 when packing fails.
#
# Runs read-only, without network, as an arbitrary uid that has no passwd
# entry: every file it writes (HOME, apktool's framework dir, Java's temp dir,
# the decoded tree) lives in a work dir inside the mountpoint, removed on exit.
set -euo pipefail

MOUNTPOINT="${MENAGERIE_MOUNTPOINT:-/var/data}"
INPUT="${MENAGERIE_INPUT:-sample.apk}"
INPUT_PATH="$MOUNTPOINT/$INPUT"
RESULT="$MOUNTPOINT/result"
# apktool's JVM heap; raise it for very large APKs.
HEAP="${MENAGERIE_APKTOOL_HEAP:-1024m}"

say() { printf '[apktool-engine] %s\n' "$*"; }
fail() { local code=$1; shift; printf '[apktool-engine] ERROR: %s\n' "$*" >&2; exit "$code"; }

[[ -d "$MOUNTPOINT" ]] || fail 2 "mountpoint $MOUNTPOINT does not exist"
[[ -e "$INPUT_PATH" ]] || fail 2 "input $INPUT_PATH does not exist"
[[ -f "$INPUT_PATH" ]] || fail 2 "input $INPUT_PATH is not a regular file"
[[ -r "$INPUT_PATH" ]] || fail 2 "input $INPUT_PATH is not readable by uid $(id -u)"
[[ -w "$MOUNTPOINT" ]] || fail 2 "mountpoint $MOUNTPOINT is not writable by uid $(id -u) (the job dir must be owned by the container's uid)"

WORK="$(mktemp -d "$MOUNTPOINT/.apktool-work.XXXXXX")" ||
  fail 2 "cannot create a work dir in $MOUNTPOINT"
cleanup() { rm -rf "$WORK" "$RESULT.partial"; }
trap cleanup EXIT

mkdir -p "$WORK/home" "$WORK/tmp"
export HOME="$WORK/home"
# Debian's /usr/bin/apktool links the packaged framework-res.apk into
# ~/.local/share/apktool/framework (a symlink, nothing is copied).
FRAMEWORK_DIR="$HOME/.local/share/apktool/framework"
unset JAVA_TOOL_OPTIONS _JAVA_OPTIONS
JOPTS=(-JXmx"$HEAP" -JXX:-UsePerfData -JDjava.io.tmpdir="$WORK/tmp" -JDuser.home="$HOME")

size="$(stat -c %s "$INPUT_PATH")"
say "input: $INPUT_PATH ($size bytes)"
say "apktool $(apktool "${JOPTS[@]}" --version 2>/dev/null || echo '?')"

say "decoding"
start=$SECONDS
if ! apktool "${JOPTS[@]}" d -f -p "$FRAMEWORK_DIR" -o "$WORK/decoded" "$INPUT_PATH"; then
  fail 3 "apktool could not decode $INPUT (is it an APK?)"
fi
[[ -d "$WORK/decoded" ]] || fail 3 "apktool produced no output"
files="$(find "$WORK/decoded" -type f | wc -l)"
say "decoded $files files in $((SECONDS - start))s"

say "packing the decoded tree into $RESULT"
tar -czf "$RESULT.partial" -C "$WORK/decoded" . || fail 4 "tar failed"
mv -f "$RESULT.partial" "$RESULT"
say "done: result is $(stat -c %s "$RESULT") bytes"
