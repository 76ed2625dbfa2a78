#!/usr/bin/env bash
# Prints the key that signs webhook deliveries to a callback URL (one per
# origin, derived from webhooks.callbackSecret), for its receiver's owner.
# Reads the same default.json as the worker (MENAGERIE_CONF_DIR and the
# environment overrides apply). Usage: bash scripts/webhook-key.sh <callback URL>
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[[ -f "$ROOT/apps/worker/dist/webhook-key.js" ]] || ensure_build >&2
exec node "$ROOT/apps/worker/dist/webhook-key.js" "$@"
