#!/usr/bin/env bash
# Cross-check: clp-flow's byte-level BPE (trained by clp-flow) must encode exactly like Hugging Face
# tokenizers / transformers loading the same vocab.json and merges.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-.venv/bin/python}"
BIN="${CLP_FLOW_BIN:-$(swift build --show-bin-path ${CLP_FLOW_SCRATCH:+--scratch-path "$CLP_FLOW_SCRATCH"})/clp-flow}"
[ -x "$BIN" ] || { echo "tokenizer-hf: $BIN not found; run 'swift build' first" >&2; exit 1; }
"$PY" tests/python/tokenizer_hf_check.py "$BIN"
