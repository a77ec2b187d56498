#!/bin/sh
# Runs the project's Python on the arguments: $CLP_FLOW_PYTHON if set, else .venv/bin/python at
# the repository root (made by `bash scripts/setup-python.sh neural-reward`). exec, so the reward
# process clp-flow starts and signals is Python itself.
here=$(cd "$(dirname "$0")" && pwd)
py="${CLP_FLOW_PYTHON:-$here/../../.venv/bin/python}"
if [ ! -x "$py" ]; then
    echo "neural-reward: no Python at $py; run: bash scripts/setup-python.sh neural-reward" >&2
    exit 127
fi
exec "$py" "$@"
