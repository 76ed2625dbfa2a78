# shellcheck shell=bash

# Debian's Chromium for the console's browser tests (no browser download works here).
ensure_chromium() {
  ensure_command chromium chromium fonts-dejavu-core fonts-liberation
}
