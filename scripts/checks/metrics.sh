#!/usr/bin/env bash
# Cross-check: hypervolume, Spearman ρ with its permutation p-value, and bootstrap intervals of
# clp-flow's evaluation code against an independent implementation in plain Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-.venv/bin/python}"
BIN="${CLP_FLOW_BIN:-$(swift build --show-bin-path ${CLP_FLOW_SCRATCH:+--scratch-path "$CLP_FLOW_SCRATCH"})/clp-flow}"
[ -x "$BIN" ] || { echo "metrics: $BIN not found; run 'swift build' first" >&2; exit 1; }
"$PY" tests/python/metrics_check.py "$BIN"
