#!/usr/bin/env bash
# Brings up what tests and the local start need, reusing whatever already runs:
# node modules, the build, the Docker daemon, PostgreSQL, the Temporal CLI,
# the engine images and the test fixtures.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ensure_node_modules
ensure_build
ensure_docker
# test/host/compose-cli.spec.ts validates docker-compose.yml with it.
ensure_docker_compose
ensure_postgres
ensure_temporal_cli
ensure_s3
ensure_images
bash "$ROOT/scripts/build-fixtures.sh"
