# The Menagerie app image (menagerie/menagerie): API and worker in one image.
#
#   docker build -t menagerie/menagerie:latest .
#   docker run ... menagerie/menagerie                                # API (default CMD)
#   docker run ... menagerie/menagerie node apps/worker/dist/main.js  # worker
#
# NODE_IMAGE lets a machine without registry access build on a local Node 20
# base instead (scripts/build-app-image.sh makes one). Builds with the classic
# builder too: no BuildKit-only syntax here.
#
# The default user is the unprivileged `menagerie` (APP_UID). The worker has to
# run as root (docker-compose.yml says why). Run either with an init (`--init`,
# compose `init: true`) so SIGTERM reaches node and the worker can drain.
ARG NODE_IMAGE=node:20-bookworm-slim

# --------------------------------------------------------------- manifests
# Only the workspaces' package.json files: the `npm ci` layer below then stays
# cached across source edits (a COPY --from is cached on content).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY libs libs
COPY apps apps
RUN find libs apps -type f ! -regex '\(libs\|apps\)/[^/]*/package\.json' -delete \
 && find libs apps -depth -type d -empty -delete

# ----------------------------------------------------------------- builder
FROM ${NODE_IMAGE} AS builder
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
COPY --from=manifests /src/ ./
# --ignore-scripts: the repo allows no install scripts (package.json
# allowScripts); nothing it needs depends on one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY apps apps
RUN npx tsc -b tsconfig.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# Stage what runs: production node_modules (its @menagerie/* entries are
# relative symlinks to ../../libs/* and ../../apps/*, so the workspaces keep
# their paths) and each workspace's package.json + dist. Temporal's native
# bridge ships five platforms' binaries; only this one's is kept (~120 MB).
RUN mkdir /out \
 && cp -a package.json package-lock.json node_modules /out/ \
 && for ws in libs/* apps/*; do \
      mkdir -p "/out/$ws" && cp -a "$ws/package.json" "$ws/dist" "/out/$ws/"; \
    done \
 && cp -a apps/api/console /out/apps/api/ \
 && find /out/libs /out/apps -name '*.tsbuildinfo' -delete \
 && releases=/out/node_modules/@temporalio/core-bridge/releases \
 && keep="$(uname -m)-unknown-linux-gnu" \
 && if [ -d "$releases/$keep" ]; then \
      find "$releases" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +; \
    fi \
 && test -f /out/node_modules/@menagerie/config/dist/index.js \
 && test -f /out/node_modules/@menagerie/workflows/dist/index.js \
 && test -d /out/node_modules/@temporalio/worker

# ----------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ARG APP_UID=10001
# A uid of its own, not the engines' (MENAGERIE_UID, 1000 by default): an
# engine that escaped its container would not own the API's files.
# /app/data is where the shipped confs put storage; compose overrides it.
RUN groupadd --gid "${APP_UID}" menagerie \
 && useradd --uid "${APP_UID}" --gid menagerie --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin menagerie \
 && mkdir -p /app/data \
 && chown menagerie:menagerie /app/data
WORKDIR /app
# Code stays root-owned: the app cannot rewrite itself.
COPY --from=builder /out/ ./
COPY confs confs
LABEL org.opencontainers.image.title="menagerie" \
      org.opencontainers.image.description="Menagerie API and worker" \
      org.opencontainers.image.licenses="Apache-2.0"
USER menagerie
EXPOSE 8100
CMD ["node", "apps/api/dist/main.js"]
