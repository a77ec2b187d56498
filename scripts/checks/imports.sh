#!/usr/bin/env bash
# The module graph is enforced: no Swift file imports a module its target may not use, Package.swift
# declares no forbidden or unused dependency, and docs/architecture.md shows the rules as they are
# (scripts/checks/imports.py holds them). Then the check proves it can fail: in a copy of Sources/
# where the engine imports the workflow language, it must exit 1 naming that file.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${CLP_FLOW_PYTHON:-python3}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
swift package dump-package > "$tmp/package.json"
"$PY" scripts/checks/imports.py --package-json "$tmp/package.json"

mkdir -p "$tmp/copy"
cp -R Sources bench "$tmp/copy/"
victim="$tmp/copy/Sources/ClpFlowEngine/Rewards/Rouge.swift"
printf 'import ClpFlowWorkflow\n' | cat - "$victim" > "$tmp/v" && mv "$tmp/v" "$victim"
set +e
out=$("$PY" scripts/checks/imports.py --root "$tmp/copy" --package-json "$tmp/package.json" 2>&1)
rc=$?
set -e
if [ "$rc" -ne 1 ] || ! grep -q "Sources/ClpFlowEngine/Rewards/Rouge.swift:1: ClpFlowEngine may not import ClpFlowWorkflow" <<<"$out"; then
    echo "imports: the check did not catch a forbidden import (exit $rc):" >&2; printf '%s\n' "$out" >&2; exit 1
fi
echo "imports: a forbidden import is caught (exit 1)"
