#!/usr/bin/env bash
# Fuzzes the workflow loader with libFuzzer (fuzz/LoaderFuzz.swift) for N inputs:
#
#   scripts/fuzz.sh N [libFuzzer flags…]      e.g. scripts/fuzz.sh 1000000
#
# Builds ClpFlowCore and ClpFlowWorkflow with coverage instrumentation and AddressSanitizer
# (swiftc -sanitize=fuzzer,address) into $CLP_FLOW_FUZZ_BUILD (default .build-fuzz), seeds the
# corpus with every fixture under Tests/ClpFlowWorkflowTests/Fixtures, runs N inputs in one
# process (-runs=N, -max_len=8192, -timeout=10, fixed -seed so a run can be repeated) and prints
# libFuzzer's summary. A crash, hang or failed check stops the run with exit status ≠ 0 and leaves
# the input in $CLP_FLOW_FUZZ_BUILD/artifacts/. Requires a Swift toolchain with libFuzzer (the
# Linux toolchains from swift.org have it) and libyaml-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-}"
if ! [[ "$runs" =~ ^[0-9]+$ ]] || [ "$runs" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh N [libFuzzer flags…]   (N = number of inputs, e.g. 1000000)" >&2
    exit 2
fi
shift
B="${CLP_FLOW_FUZZ_BUILD:-.build-fuzz}"
mkdir -p "$B/obj" "$B/corpus" "$B/artifacts"
B="$(cd "$B" && pwd)"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)

echo "fuzz: building the instrumented loader in $B (log: $B/build.log)" >&2
{
swiftc "${flags[@]}" -module-name ClpFlowCore -emit-module -emit-module-path "$B/obj/ClpFlowCore.swiftmodule" \
    -I Sources/CLibCrypto -emit-library -static -o "$B/obj/libClpFlowCore.a" Sources/ClpFlowCore/*.swift
mapfile -t workflow_sources < <(find Sources/ClpFlowWorkflow -name '*.swift' | sort)
swiftc "${flags[@]}" -module-name ClpFlowWorkflow -I "$B/obj" -I Sources/CLibYAML -I Sources/CLibCrypto -emit-module \
    -emit-module-path "$B/obj/ClpFlowWorkflow.swiftmodule" -emit-library -static -o "$B/obj/libClpFlowWorkflow.a" \
    "${workflow_sources[@]}"
swiftc "${flags[@]}" -module-name LoaderFuzz -I "$B/obj" -I Sources/CLibYAML -I Sources/CLibCrypto fuzz/LoaderFuzz.swift \
    -L "$B/obj" -lClpFlowWorkflow -lClpFlowCore -lyaml -lcrypto -o "$B/loader-fuzz"
} > "$B/build.log" 2>&1 || { grep -E "error" "$B/build.log" >&2; echo "fuzz: build failed, see $B/build.log" >&2; exit 1; }

# The sandbox the inputs are loaded in: a copy of the fixtures (templates, data, checkpoint).
rm -rf "$B/sandbox"
cp -R Tests/ClpFlowWorkflowTests/Fixtures "$B/sandbox"
seeds="$B/seeds"
rm -rf "$seeds"; mkdir -p "$seeds"
find Tests/ClpFlowWorkflowTests/Fixtures -name '*.yaml' -exec cp {} "$seeds/" \;

echo "fuzz: running $runs inputs (corpus $B/corpus, seeds $(ls "$seeds" | wc -l) fixtures)" >&2
start=$(date +%s)
# LeakSanitizer is off: it reports the loader's lazily built, never freed schema tables (globals
# initialised once) as leaks. AddressSanitizer's other checks stay on.
CLP_FLOW_FUZZ_DIR="$B/sandbox" ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" "$B/loader-fuzz" -detect_leaks=0 -runs="$runs" -max_len=8192 -timeout=10 -seed=20261129 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/" "$@" "$B/corpus" "$seeds" 2>&1 | tee "$B/last-run.log" \
    | grep -E "^#[0-9]+ +(INITED|DONE|pulse)|^Done|stat::number_of_executed_units|ERROR|SUMMARY|loader fuzz:" >&2
status=${PIPESTATUS[0]}
echo "fuzz: exit status $status after $(( $(date +%s) - start )) s; full log: $B/last-run.log" >&2
exit "$status"
