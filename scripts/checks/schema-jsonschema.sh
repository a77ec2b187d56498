#!/usr/bin/env bash
# Cross-check of the workflow schema with Python's jsonschema (as an editor would use it): every
# file under workflows/ and examples/ validates, and the schema agrees with the loader on the
# test fixtures.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-python3}"
"$PY" tests/python/schema_check.py
