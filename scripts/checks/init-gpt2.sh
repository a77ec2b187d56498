#!/usr/bin/env bash
# End-to-end check of `model: {init: DIR}`: fine-tune from a transformers-made GPT-2 checkpoint
# (tokenizer with <|endoftext|> last) and load the exported reference back into transformers.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-python3}"
BIN="${CLP_FLOW_BIN:-$(swift build ${CLP_FLOW_SCRATCH:+--scratch-path "$CLP_FLOW_SCRATCH"} --show-bin-path)/clp-flow}"
[ -x "$BIN" ] || { echo "init-gpt2: $BIN not built (run swift build)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" tests/python/init_gpt2_check.py "$BIN" "$work"
