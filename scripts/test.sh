#!/usr/bin/env bash
# Runs every test on real services: unit tests, workflow tests on the Temporal
# dev server, and end-to-end tests through HTTP against Temporal, PostgreSQL
# and Docker. Installs and starts whatever is missing first.
# Extra arguments go to jest, e.g. `bash scripts/test.sh --selectProjects unit`.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

bash "$ROOT/scripts/ensure-services.sh"
ensure_chromium
# The samples the engines' tests analyse (test/fixtures/samples, made here).
bash "$ROOT/scripts/build-samples.sh"
export MENAGERIE_SERVICES_READY=1 TEMPORAL_BIN="$CACHE_DIR/bin/temporal"

log "type-checking the tests"
(cd "$ROOT" && npx tsc -p test)
log "linting (eslint.config.js), the format check (.prettierrc.json), shellcheck (.shellcheckrc) and pyflakes (the engines' Python)"
ensure_command shellcheck shellcheck
ensure_command pyflakes3 python3-pyflakes
(cd "$ROOT" && npx eslint . && npx prettier --check --log-level warn . &&
  find scripts bench engines test/fixtures -name '*.sh' -exec shellcheck -x .ci/run {} + &&
  pyflakes3 engines test/fixtures bench)

# Every project on the embedded default store (a directory), then the end-to-end
# suite again on S3 (the local SeaweedFS, a bucket per test system).
reports=("$RUN_DIR/jest-report.json" "$RUN_DIR/jest-report-s3.json")
rm -f "${reports[@]}"
set +e
# --forceExit: the Temporal SDK's native runtime outlives the last worker by design.
(cd "$ROOT" && npx jest --runInBand --ci --forceExit --json --outputFile="${reports[0]}" "$@")
status=$?
# The end-to-end specs whose assertions the store is part of (what is stored,
# shared, streamed, left behind or removed), run again on S3; the rest of the
# suite runs on the directory store only. MENAGERIE_TEST_S3=1 runs the given
# arguments' end-to-end specs on S3 instead.
S3_SPECS=(blob-store-contract s3-blob-store pipeline cache retry submissions upload-errors operators job-dispatch load reports webhooks data-bundles)
s3_args=()
if [[ $# -eq 0 ]]; then
  s3_args=("test/e2e/($(IFS='|'; echo "${S3_SPECS[*]}"))\\.spec\\.ts$")
elif [[ "${MENAGERIE_TEST_S3:-}" == 1 ]]; then
  s3_args=("$@")
fi
if ((${#s3_args[@]})); then
  log "the store's end-to-end specs again, on the S3 store"
  # --selectProjects last: the e2e project whatever the arguments select.
  (cd "$ROOT" && MENAGERIE_TEST_STORAGE=s3 npx jest --runInBand --ci --forceExit --json --outputFile="${reports[1]}" "${s3_args[@]}" --selectProjects e2e)
  s3_status=$?
  (( status == 0 )) && status=$s3_status
fi
# docker-compose.yml run for real (~3 min; the first run builds its images, ~10 min).
compose_result=""
if [[ $# -eq 0 || "${MENAGERIE_TEST_COMPOSE:-}" == 1 ]]; then
  log "the compose smoke test (scripts/compose-smoke.sh)"
  bash "$ROOT/scripts/compose-smoke.sh"
  compose_status=$?
  compose_result="compose smoke test: $( ((compose_status == 0)) && echo passed || echo FAILED)"
  (( status == 0 )) && status=$compose_status
fi
set -e
# shellcheck disable=SC2016 # ${...} here is JavaScript's, in a template literal
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const [file, label] of [[process.argv[1], "fs"], [process.argv[2], "s3 (e2e)"]]) {
    if (!fs.existsSync(file)) continue;
    const r = require(file);
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests;
    console.log(`  ${label}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  }
  console.log(`\ntests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "${reports[@]}"
[[ -z "$compose_result" ]] || echo "$compose_result"
exit $status
