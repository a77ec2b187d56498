#!/usr/bin/env bash
# Per-kernel profile of one training step (forward, backward, clipping, AdamW) at the benchmark
# shape and at GPT-2 small, one thread, with perf sampling on-CPU time (cpu-clock: works without
# hardware counters, and other processes on the machine do not change the shares).
# Generation (prompt 8, 56 new tokens, KV cache) is profiled with `gen` (benchmark shape, batch
# 16) and `gen-gpt2` (GPT-2 small, batch 1); `all` is the two training steps.
# Usage: bench/profile.sh [bench|gpt2|gen|gen-gpt2|all]   (CLP_FLOW_SCRATCH: swift build folder, default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${CLP_FLOW_SCRATCH:-.build}"
which="${1:-all}"
command -v perf > /dev/null || { echo "bench/profile.sh: perf not found" >&2; exit 2; }
swift build -c release --scratch-path "$SCRATCH" --product clp-flow-bench 2>&1 | grep -E "error|Build" >&2 || true
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/clp-flow-bench"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
run() {  # name, perf frequency, bench arguments...
    local name="$1" freq="$2"; shift 2
    echo "== $name: clp-flow-bench $*  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    CLP_FLOW_THREADS=1 OPENBLAS_NUM_THREADS=1 perf record -q -e cpu-clock -F "$freq" -o "$out/$name.data" -- "$BIN" "$@" \
        | python3 -c "import json,sys; r=json.loads(sys.stdin.readline()); print('  ' + ', '.join(f'{k} {v:.4g}' for k, v in r.items() if isinstance(v, (int, float)) and any(s in k for s in ('ms', 'gflop', 'second', 'tokens_per'))))"
    perf report -i "$out/$name.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
        | swift demangle --simplified | python3 bench/perf_groups.py
}
case "$which" in bench|all) run bench 499 --only train --steps 30 --warmup 2 ;; esac
case "$which" in gpt2|all) run gpt2 199 --only train --shape 12,768,12,50257,256 --batch 4 --seq 256 --steps 2 --warmup 0 ;; esac
case "$which" in gen) run gen 999 --only gen --gen-batches 16 --prompt 8 --new-tokens 56 --steps 40 --warmup 1 ;; esac
case "$which" in gen-gpt2) run gen-gpt2 499 --only gen --shape 12,768,12,50257,256 --gen-batches 1 --prompt 8 --new-tokens 56 --steps 4 --warmup 1 ;; esac
