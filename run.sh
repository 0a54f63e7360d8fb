#!/usr/bin/env bash
# Start the gateway on embedded defaults (installs what it needs on first run).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
if [ "$#" -eq 0 ]; then set -- selfcheck; fi
exec .venv/bin/yrdgw "$@"
