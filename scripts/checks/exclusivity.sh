#!/usr/bin/env bash
# The test suite ran with dynamic exclusivity checking on in the optimised targets (Core, Kernels,
# Engine): scripts/test.sh builds with CLP_FLOW_CHECKED=1, and this check reads the build manifest
# of that build to make sure no target was compiled with -enforce-exclusivity=unchecked.
# (scripts/exclusivity-onone.sh runs the engine tests with the checks on and -Onone as well.)
set -euo pipefail
cd "$(dirname "$0")/../.."
manifest="${CLP_FLOW_SCRATCH:-.build}/debug.yaml"
[ -f "$manifest" ] || { echo "exclusivity: $manifest missing (run the suite through scripts/test.sh)" >&2; exit 1; }
if grep -q -- '-enforce-exclusivity=unchecked' "$manifest"; then
    echo "exclusivity: the suite was built with -enforce-exclusivity=unchecked (set CLP_FLOW_CHECKED=1, as scripts/test.sh does)" >&2; exit 1
fi
n=$(grep -c -- '-enforce-exclusivity=checked' "$manifest" || true)
[ "$n" -gt 0 ] || { echo "exclusivity: no target was compiled with -enforce-exclusivity=checked" >&2; exit 1; }
echo "exclusivity: the suite ran with -enforce-exclusivity=checked in the optimised targets ($n compile commands)"
