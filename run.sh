#!/usr/bin/env bash
# Start the gateway on embedded defaults with the dev extras (province simulators, window
# accounts, sample cases); installs what it needs on first run. Arguments go to `yrdgw`.
# It prints the page URL, each account with its role, and how to reset a password
# (`yrdgw accounts --data-dir yrd-data reset-password <username>`).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
if [ "$#" -eq 0 ]; then set -- serve --dev; fi
exec .venv/bin/yrdgw "$@"
