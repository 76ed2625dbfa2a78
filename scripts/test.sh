#!/usr/bin/env bash
# Runs every test on real services: unit tests, workflow tests on the Temporal
# dev server, and end-to-end tests through HTTP against Temporal, PostgreSQL
# and Docker. Installs and starts whatever is missing first.
# Extra arguments go to jest, e.g. `bash scripts/test.sh --selectProjects unit`.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

bash "$ROOT/scripts/ensure-services.sh"
ensure_chromium
export MENAGERIE_SERVICES_READY=1 TEMPORAL_BIN="$CACHE_DIR/bin/temporal"

log "type-checking the tests"
(cd "$ROOT" && npx tsc -p test)
log "linting (eslint.config.js: workflow code stays deterministic)"
(cd "$ROOT" && npx eslint .)

report="$RUN_DIR/jest-report.json"
rm -f "$report"
set +e
# --forceExit: the Temporal SDK's native runtime outlives the last worker by design.
(cd "$ROOT" && npx jest --runInBand --ci --forceExit --json --outputFile="$report" "$@")
status=$?
set -e
if [[ -f "$report" ]]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
  ' "$report"
fi
exit $status
