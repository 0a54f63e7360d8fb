#!/usr/bin/env bash
# Make a fresh machine ready: .venv with the project and its test extras, the Solidity
# toolchain (solc-js, hardhat 2) when npm is present, and -- with --browser, as root --
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
if [ -f ledger/contracts/package-lock.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d ledger/contracts/node_modules ] || [ ledger/contracts/package-lock.json -nt ledger/contracts/node_modules ]; then
    (cd ledger/contracts && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "bootstrap: chromium not installed and not root: browser tests will be skipped" >&2
  fi
fi
