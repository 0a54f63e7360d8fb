#!/usr/bin/env bash
# Make a fresh machine ready: .venv with the project and its test extras, the Solidity
# toolchain (solc-js, hardhat 2) and the Node.js interop partner's packages (grpc-js,
# protobufjs, sm-crypto) when npm is present, PostgreSQL's server binaries (as root, from
# Debian's postgresql package; the tests start their own throwaway cluster, see tests/pg.py),
# and -- with --browser, as root -- Debian's chromium for the browser tests. Idempotent: a
# second run installs nothing.
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
apt_updated=
apt_update_once() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
}
have_initdb() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1
}
if ! have_initdb; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing PostgreSQL's server binaries (Debian's postgresql) for the tests" >&2
    apt_update_once
    # Installed, not started: a policy-rc.d that denies every start keeps the system service
    # (and its default cluster) down; the tests start their own cluster.
    policy=/usr/sbin/policy-rc.d
    added_policy=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    fi
    status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || status=$?
    if [ -n "$added_policy" ]; then rm -f "$policy"; fi
    if [ "$status" != 0 ]; then
      echo "bootstrap: apt-get install postgresql failed ($status)" >&2
      exit "$status"
    fi
  else
    echo "bootstrap: PostgreSQL not installed (no initdb under /usr/lib/postgresql/*/bin or on" \
      "PATH) and not root: the PostgreSQL tests will be skipped" >&2
  fi
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "bootstrap: chromium not installed and not root: browser tests will be skipped" >&2
  fi
fi
