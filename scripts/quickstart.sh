#!/usr/bin/env bash
# Installs what is missing, builds clp-flow and runs the quick-start workflow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
BIN="$(swift build -c release --show-bin-path)/clp-flow"
"$BIN" --version
