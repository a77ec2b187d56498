#!/usr/bin/env bash
# The `validate` and `schema` commands as a user runs them: shipped workflows and templates are
# valid (exit 0), an invalid workflow exits 2 with `file:line:col: error:` lines, and the checked-in
# schema is what `clp-flow schema` prints.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${CLP_FLOW_BIN:-.build/debug/clp-flow}"
if [ ! -x "$BIN" ]; then swift build >/dev/null; fi
"$BIN" validate examples/*.yaml examples/*/*.yaml workflows/*.yaml workflows/*/*.yaml
set +e
out=$("$BIN" validate Tests/ClpFlowWorkflowTests/Fixtures/invalid/sem-many-errors.yaml 2>&1)
rc=$?
set -e
if [ "$rc" -ne 2 ]; then echo "schema-cli: invalid workflow exited $rc, expected 2" >&2; exit 1; fi
n=$(printf '%s\n' "$out" | grep -c ': error: ' || true)
if [ "$n" -lt 5 ]; then echo "schema-cli: expected every error at once, got:" >&2; printf '%s\n' "$out" >&2; exit 1; fi
if ! "$BIN" schema | cmp -s - schemas/clp-flow.schema.json; then
    echo "schema-cli: schemas/clp-flow.schema.json is stale; run: clp-flow schema > schemas/clp-flow.schema.json" >&2
    exit 1
fi
echo "schema-cli: ok"
