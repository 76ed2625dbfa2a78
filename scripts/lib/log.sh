# shellcheck shell=bash
# Messages go to stderr: a script's stdout stays what it prints for its caller
# (a path, a job id).

log() { printf '\033[1;34m[menagerie]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[menagerie]\033[0m %s\n' "$*" >&2; exit 1; }
