#!/usr/bin/env bash
# Builds the hostpath receiver's native directory scanner (receivers/hostpath/native/walkdir.c)
# into receivers/hostpath/native/build/walkdir.node. Runs on `npm ci` / `npm install` (the
# package's install script). It needs a C compiler and the Node-API headers (the
# node-api-headers dev dependency); Node-API is ABI-stable, so no Node source or node-gyp.
#
# Without them the agent still works: the walk falls back to Node's own fs calls (about 1.7x
# GNU du's CPU instead of under 1x) and logs that it did. Pass --require (the test setup does)
# to fail instead of falling back.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
require=false
[ "${1:-}" = "--require" ] && require=true

src=receivers/hostpath/native/walkdir.c
out=receivers/hostpath/native/build/walkdir.node
headers=node_modules/node-api-headers/include
cc=${CC:-cc}

skip() {
  if $require; then
    echo "build-native: $1" >&2
    exit 1
  fi
  echo "build-native: $1; the hostpath walk will use the portable scanner" >&2
  exit 0
}

command -v "$cc" >/dev/null 2>&1 || skip "no C compiler ($cc) on PATH (Debian: apt-get install gcc libc6-dev)"
[ -f "$headers/node_api.h" ] || skip "no Node-API headers in $headers (a dev dependency: npm ci without --omit=dev)"

mkdir -p "$(dirname "$out")"
# Node-API symbols resolve against the running node binary at load time.
if ! "$cc" -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -DNAPI_VERSION=8 -I "$headers" -o "$out.tmp" "$src"; then
  rm -f "$out.tmp"
  skip "compiling $src failed"
fi
mv "$out.tmp" "$out"
echo "build-native: built $out"
