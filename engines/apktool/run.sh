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

say() { printf '[apktool-engine] %s\n' "$*"; }
fail() { local code=$1; shift; printf '[apktool-engine] ERROR: %s\n' "$*" >&2; exit "$code"; }

[[ -d "$MOUNTPOINT" ]] || fail 2 "mountpoint $MOUNTPOINT does not exist"
[[ -e "$INPUT_PATH" ]] || fail 2 "input $INPUT_PATH does not exist"
[[ -f "$INPUT_PATH" ]] || fail 2 "input $INPUT_PATH is not a regular file"
[[ -r "$INPUT_PATH" ]] || fail 2 "input $INPUT_PATH is not readable by uid $(id -u)"
[[ -w "$MOUNTPOINT" ]] || fail 2 "mountpoint $MOUNTPOINT is not writable by uid $(id -u) (the job dir must be owned by the container's uid)"

rm -f "$RESULT" || fail 2 "cannot remove a stale $RESULT"
WORK="$(mktemp -d "$MOUNTPOINT/.apktool-work.XXXXXX")" ||
  fail 2 "cannot create a work dir in $MOUNTPOINT"
cleanup() { rm -rf "$WORK" "$RESULT.partial"; }
trap cleanup EXIT

mkdir -p "$WORK/home" "$WORK/tmp" "$WORK/framework"
export HOME="$WORK/home"
# apktool resolves framework resources from <frame-path>/1.apk; like Debian's
# /usr/bin/apktool wrapper, link the packaged framework-res.apk there.
FRAMEWORK_DIR="$WORK/framework"
ln -s /usr/share/android-framework-res/framework-res.apk "$FRAMEWORK_DIR/1.apk"

# Java directly rather than Debian's wrapper (which pins -Xmx512M): the heap
# follows the container's memory limit unless MENAGERIE_APKTOOL_HEAP is set.
# Short-lived run: serial GC and C1 only start quicker. No perf data in /tmp.
unset JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS
JAVA_OPTS=(-XX:-UsePerfData -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dfile.encoding=utf-8
  -Djava.io.tmpdir="$WORK/tmp" -Duser.home="$HOME")
if [[ -n "${MENAGERIE_APKTOOL_HEAP:-}" ]]; then JAVA_OPTS+=(-Xmx"$MENAGERIE_APKTOOL_HEAP")
else JAVA_OPTS+=(-XX:MaxRAMPercentage=75); fi
apktool() { java "${JAVA_OPTS[@]}" -cp '/usr/share/apktool/*' brut.apktool.Main "$@"; }

say "input: $INPUT_PATH ($(stat -c %s "$INPUT_PATH") bytes)"
say "decoding with apktool d"
start=$SECONDS
if ! apktool d -f -p "$FRAMEWORK_DIR" -o "$WORK/decoded" "$INPUT_PATH"; then
  fail 3 "apktool could not decode $INPUT (is it an APK?)"
fi
[[ -d "$WORK/decoded" ]] || fail 3 "apktool produced no output"
files="$(find "$WORK/decoded" -type f | wc -l)"
say "decoded $files files in $((SECONDS - start))s"

say "packing the decoded tree into $RESULT"
tar -czf "$RESULT.partial" -C "$WORK/decoded" . || fail 4 "tar failed"
mv -f "$RESULT.partial" "$RESULT"
say "done: result is $(stat -c %s "$RESULT") bytes"
