#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs what it needs, then pytest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh --browser
exec .venv/bin/python -m pytest "$@"
