#!/usr/bin/env bash
# Installs what is missing, builds clp-flow and runs the quick-start workflow
# (examples/quickstart.yaml): attn-CLP against Rewarded Soups on Debian package descriptions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
BIN="$(swift build -c release --show-bin-path)/clp-flow"
"$BIN" run examples/quickstart.yaml --run-dir runs/quickstart --max-parallel 2
echo "open runs/quickstart/report.html to see the fronts" >&2
