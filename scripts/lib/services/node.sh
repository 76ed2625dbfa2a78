# shellcheck shell=bash
# The checkout's node modules and TypeScript build.

ensure_node_modules() {
  if [[ ! -d "$ROOT/node_modules/@temporalio/worker" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    log "npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
}

ensure_build() {
  log "building TypeScript"
  (cd "$ROOT" && npx tsc -b tsconfig.json)
}
