#!/usr/bin/env bash
# Cross-check the GPT-2 engine against Hugging Face transformers (logits both ways, safetensors).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-python3}"
BIN="${CLP_FLOW_BIN:-$(swift build ${CLP_FLOW_SCRATCH:+--scratch-path "$CLP_FLOW_SCRATCH"} --show-bin-path)/clp-flow}"
[ -x "$BIN" ] || { echo "model-hf: $BIN not built (run swift build)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" tests/python/model_hf_check.py "$BIN" "$work"
