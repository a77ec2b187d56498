#!/usr/bin/env bash
# The engine and kernel test suites with exclusivity checking on and without optimization (the
# kernels and the engine are normally compiled with -O and -enforce-exclusivity=unchecked, the
# `optimized` settings of Package.swift; `make test` runs the whole suite with the checks on and -O,
# see scripts/checks/exclusivity.sh). CLP_FLOW_CHECKED=onone compiles them with -Onone and
# -enforce-exclusivity=checked, so an overlapping access traps instead of passing silently.
# Builds into its own scratch folder (default .build-checked; CLP_FLOW_CHECKED_SCRATCH overrides it)
# so the normal build is left alone.
# Usage: scripts/exclusivity-onone.sh [--filter REGEX]   (default: ClpFlowEngineTests)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${CLP_FLOW_CHECKED_SCRATCH:-.build-checked}"
filter="ClpFlowEngineTests"
while [ $# -gt 0 ]; do
    case "$1" in
        --filter) filter="$2"; shift ;;
        *) echo "exclusivity: unknown argument $1 (usage: scripts/exclusivity-onone.sh [--filter REGEX])" >&2; exit 2 ;;
    esac
    shift
done
export CLP_FLOW_CHECKED=onone
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! swift build --build-tests --scratch-path "$scratch" >"$log" 2>&1; then
    grep -vE '^\[[0-9]+/[0-9]+\]' "$log" >&2 || true
    echo "exclusivity: the checked build failed" >&2; exit 1
fi
# The build must really have used the checked flags for the optimised targets.
manifest="$scratch/debug.yaml"
[ -f "$manifest" ] || { echo "exclusivity: $manifest missing (the build failed?)" >&2; exit 1; }
if grep -q -- '-enforce-exclusivity=unchecked' "$manifest"; then
    echo "exclusivity: the build still compiles a target with -enforce-exclusivity=unchecked" >&2; exit 1
fi
grep -q -- '-enforce-exclusivity=checked' "$manifest" \
    || { echo "exclusivity: no target was compiled with -enforce-exclusivity=checked" >&2; exit 1; }
if ! swift test --skip-build --scratch-path "$scratch" --filter "$filter" 2>&1 \
        | grep -vE '^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)|^.. Test .* (started|passed)'; then
    echo "exclusivity: tests failed with exclusivity checking on" >&2; exit 1
fi
echo "exclusivity: $filter passed with -enforce-exclusivity=checked (-Onone) in the kernels and the engine" >&2
