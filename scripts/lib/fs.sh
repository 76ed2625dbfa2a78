# shellcheck shell=bash
# Files: hashing a tree, and removing one that may have mounts in it.

# file_digests DIR FIND_ARGS...: a line for each file `find FIND_ARGS` lists in
# DIR, sorted by path: its path, mode and content's sha256.
file_digests() {
  local dir=$1; shift
  (cd "$dir" && find "$@" -print0 |
    LC_ALL=C sort -z |
    while IFS= read -r -d '' f; do
      printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done)
}

# files_hash DIR [PATH...]: one hash of the files under DIR (or of those
# PATHs in it): each file's path, mode and content. node_modules, dist and
# *.tsbuildinfo are left out, as .dockerignore leaves them out of builds.
files_hash() {
  local dir=$1; shift
  (($# > 0)) || set -- .
  file_digests "$dir" "$@" \( -name node_modules -o -name dist \) -prune -o -type f ! -name '*.tsbuildinfo' |
    sha256sum | cut -d' ' -f1
}

# unmount_under DIR: unmounts DIR and everything mounted below it, deepest first.
unmount_under() {
  local m
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# remove_tree DIR: DIR deleted, after what is mounted in it is unmounted (a
# debootstrap target's /proc and /sys, a job's loop mounts); never across a mount.
remove_tree() {
  [[ -d "$1" ]] || return 0
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}
