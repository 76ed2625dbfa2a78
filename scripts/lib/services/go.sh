# shellcheck shell=bash
# Go builds on the host. Modules and build cache stay under $CACHE_DIR/go, so a
# second machine state (a CI cache of .cache) builds nothing.

# go_toolchain WHAT: sets GO to the go command, or dies (WHAT: what it would build).
go_toolchain() {
  GO="$(command -v go || echo /usr/local/go/bin/go)"
  [[ -x "$GO" ]] || die "no Go toolchain (go on PATH or /usr/local/go/bin/go) to build $1"
}

# go_cache_env: exports the cache settings every build here uses.
go_cache_env() {
  export GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" GOFLAGS=-modcacherw CGO_ENABLED=0
}

# ensure_go_binary GOBIN PACKAGE@VERSION: `go install` PACKAGE into GOBIN
# unless the binary there (named after PACKAGE's last element) was built from
# that VERSION.
ensure_go_binary() {
  local gobin=$1 spec=$2 bin
  bin="$gobin/$(basename "${spec%@*}")"
  go_toolchain "$spec"
  if [[ -x "$bin" ]] && "$GO" version -m "$bin" 2>/dev/null | awk '$1 == "mod" { print $3 }' | grep -qx -- "${spec##*@}"; then
    return
  fi
  log "go install $spec (a few minutes the first time)"
  mkdir -p "$gobin"
  (go_cache_env && GOBIN="$gobin" "$GO" install "$spec")
}
