#!/usr/bin/env bash
# Create .venv and install the project with its test extras (idempotent, fresh-machine safe).
# Also installs the Solidity toolchain (solc-js, hardhat 2) when npm is present.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.yrd-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,bench]"
  touch "$stamp"
fi
if [ -f ledger/contracts/package-lock.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d ledger/contracts/node_modules ] || [ ledger/contracts/package-lock.json -nt ledger/contracts/node_modules ]; then
    (cd ledger/contracts && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
