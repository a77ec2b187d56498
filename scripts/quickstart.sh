#!/usr/bin/env bash
# Installs what is missing, builds clp-flow and runs the quick-start workflow
# (examples/quickstart.yaml): attn-CLP against Rewarded Soups on Debian package descriptions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# A debug build of the one product: the engine's kernels are compiled with -O in every
# configuration, so it trains and evaluates as fast as a release build, and it builds with half
# the CPU time (docs/architecture.md, "Build time").
swift build --product clp-flow 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
BIN="$(swift build --show-bin-path)/clp-flow"
"$BIN" run examples/quickstart.yaml --run-dir runs/quickstart --max-parallel 2
echo "open runs/quickstart/report.html to see the fronts" >&2
