#!/usr/bin/env bash
# Creates .venv with the Python packages the cross-checks use (CPU PyTorch, transformers,
# safetensors, tokenizers, jsonschema, pyyaml). A local wheel folder (PIP_FIND_LINKS) is used when present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
PY=.venv/bin/python
if ! $PY -c "import torch, transformers, safetensors, tokenizers, jsonschema, yaml" 2>/dev/null; then
    echo "setup: installing Python packages into .venv" >&2
    torch_spec="torch"
    for d in ${PIP_FIND_LINKS:-}; do
        w=$(ls "$d"/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)
        if [ -n "$w" ]; then torch_spec="$w"; break; fi
    done
    $PY -m pip install -q --disable-pip-version-check "$torch_spec" transformers safetensors tokenizers jsonschema numpy pyyaml
fi
