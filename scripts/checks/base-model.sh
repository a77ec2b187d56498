#!/usr/bin/env bash
# The shipped base model (models/clp-base) against its recipe: it loads in transformers with the
# same logits as in clp-flow, and rerunning the first pretraining steps of workflows/base-model.yaml
# reproduces the losses recorded in models/clp-base/recipe.json bit for bit (same prepare-data and
# tokenizer cache keys, same first five losses).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-python3}"
BIN="${CLP_FLOW_BIN:-$(swift build ${CLP_FLOW_SCRATCH:+--scratch-path "$CLP_FLOW_SCRATCH"} --show-bin-path)/clp-flow}"
[ -x "$BIN" ] || { echo "base-model: $BIN not built (run swift build)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" tests/python/base_model_check.py "$BIN" "$work"
