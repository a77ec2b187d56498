#!/usr/bin/env bash
# Cross-check `clp-flow export` with Hugging Face transformers: a policy exported at a weighting
# loads with GPT2LMHeadModel / AutoTokenizer as it is, and its logits equal clp-flow's at that
# weighting within 1e-5 (two small real workflows; see tests/python/export_hf_check.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-.venv/bin/python}"
BIN="${CLP_FLOW_BIN:-$(swift build ${CLP_FLOW_SCRATCH:+--scratch-path "$CLP_FLOW_SCRATCH"} --show-bin-path)/clp-flow}"
[ -x "$BIN" ] || { echo "export-hf: $BIN not built (run swift build)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" tests/python/export_hf_check.py "$BIN" "$work"
