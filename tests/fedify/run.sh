#!/usr/bin/env bash
# Interoperability test: a real Fedify 2.3.6 federation (the strict
# ActivityPub peer) against a running `starling serve`, both on loopback.
#
#   tests/fedify/run.sh                      # builds with cargo, uses target/debug/starling
#   STARLING_BIN=/path/to/starling tests/fedify/run.sh   # uses that binary, no build
#
# Needs node 20+ and npm; installs the pinned packages from package-lock.json
# (npm registry only, nothing else from the network). Fedify declares
# node >= 22 but runs on 20 here: the engine warning is expected.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

echo "==> installing Fedify"
npm ci --silent --no-audit --no-fund --engine-strict=false 2>&1 | grep -v EBADENGINE || true
[[ -d node_modules/@fedify/fedify ]] || { echo "npm ci failed" >&2; exit 1; }

if [[ -z "${STARLING_BIN:-}" ]]; then
  echo "==> building starling (cargo build)"
  (cd "$REPO_ROOT" && cargo build --quiet --bin starling)
  STARLING_BIN="$REPO_ROOT/target/debug/starling"
fi
if [[ ! -x "$STARLING_BIN" ]]; then
  echo "starling binary not found or not executable: $STARLING_BIN" >&2
  exit 1
fi
export STARLING_BIN
echo "==> using $STARLING_BIN"

echo "==> Fedify interop (node --test)"
node --test --test-reporter=spec fedify.test.mjs
