#!/usr/bin/env bash
# Make a fresh machine ready: .venv with the project and its test extras, the Solidity
# toolchain (solc-js, hardhat 2) and the Node.js interop partner's packages (grpc-js,
# protobufjs, sm-crypto) when npm is present, and -- with --browser, as root --
# Debian's chromium for the browser tests. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.yrd-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,bench,reference,embedded-chain]"
  touch "$stamp"
fi
# A symlinked node_modules is another checkout's install: npm ci would empty it through the link.
for pkg in ledger/contracts tests/interop; do
  if [ -f "$pkg/package-lock.json" ] && [ ! -L "$pkg/node_modules" ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d "$pkg/node_modules" ] || [ "$pkg/package-lock.json" -nt "$pkg/node_modules" ]; then
      (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
done
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "bootstrap: chromium not installed and not root: browser tests will be skipped" >&2
  fi
fi
