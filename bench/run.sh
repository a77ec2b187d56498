#!/usr/bin/env bash
# The engine against the fastest PyTorch, over a size ladder: the benchmark shape, every model
# preset and GPT-2 small. For each row: the training step (clp-flow vs Hugging Face
# GPT2LMHeadModel, a lean PyTorch module eager and under torch.compile), sgemm on the step's
# shapes, a full REINFORCE step (8 prompts x 4 samples) and generation at batch 1 and 16. Every
# configuration runs in its own process (its peak RSS is its own), engine and PyTorch interleaved
# so both see the same machine conditions. One invocation prints everything (bench/ladder_report.py).
#
# Usage: bench/run.sh [--quick] [--no-build] [--threads N] [--rows bench,nano,micro,mini,small,medium,large,gpt2]
#                     [--modes train,rl,gen] [--rounds N] [--one-thread bench|all|none] [--keep FILE]
#   --quick        fewer steps everywhere (a fast pass; noisier figures)
#   --rows         rows to run (default: all)
#   --modes        parts to run (default: train,rl,gen; train includes sgemm)
#   --rounds N     repeat the whole sequence N times, keep each configuration's best (default 1)
#   --threads N    thread count of every run (default 2)
#   --one-thread   rows whose training step is also run with 1 thread (default: bench)
#   --no-build     use the clp-flow-bench already built in CLP_FLOW_SCRATCH
#   --keep FILE    write the raw JSON lines to FILE (as they come) and keep it
# Environment: CLP_FLOW_PYTHON (python with torch + transformers, default python3),
#              CLP_FLOW_SCRATCH (swift build folder, default .build),
#              CLP_FLOW_BENCH_BIN (a clp-flow-bench binary to measure instead, e.g. a copy of an
#              earlier build for before/after comparisons; implies --no-build)
# On a shared machine run it as `nice -n 19 bash bench/run.sh` (the niceness is inherited).
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${CLP_FLOW_PYTHON:-python3}"
SCRATCH="${CLP_FLOW_SCRATCH:-.build}"
quick=0 build=1 threads2=2 rows="bench,nano,micro,mini,small,medium,large,gpt2" modes="train,rl,gen" rounds=1 one="bench" keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --no-build) build=0 ;;
        --rows) rows="$2"; shift ;;
        --modes) modes="$2"; shift ;;
        --rounds) rounds="$2"; shift ;;
        --threads) threads2="$2"; shift ;;
        --one-thread) one="$2"; shift ;;
        --keep) keep="$2"; shift ;;
        *) echo "bench/run.sh: unknown argument $1 (see the header of bench/run.sh)" >&2; exit 2 ;;
    esac
    shift
done
"$PY" -c "import torch" 2>/dev/null || { echo "bench/run.sh: $PY lacks torch (set CLP_FLOW_PYTHON)" >&2; exit 2; }
[ -n "${CLP_FLOW_BENCH_BIN:-}" ] && build=0
[ "$build" = 1 ] && swift build -c release --scratch-path "$SCRATCH" --product clp-flow-bench 2>&1 | grep -E "error|Build" >&2
BIN="${CLP_FLOW_BENCH_BIN:-$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/clp-flow-bench}"
[ -x "$BIN" ] || { echo "bench/run.sh: $BIN was not built" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
log="$out/all.jsonl"
if [ -n "$keep" ]; then : > "$keep"; log="$keep"; fi

# name  layers,d_model,heads,vocab,context  B  T  train-steps train-warmup  rl-steps rl-warmup  gen-reps
# (the presets: docs/workflow-language.md, with the base model's vocabulary and windows as in bench/presets.sh)
table="bench  2,128,4,256,64     16 64  30 5  3 1  5
nano   2,64,2,4096,128    16 128 10 2  2 1  3
micro  2,128,4,4096,128   16 128 10 2  2 1  3
mini   4,192,6,4096,128   16 128 8 2   2 1  3
small  6,256,8,4096,128   16 128 6 2   2 1  3
medium 6,320,5,4096,128   16 128 6 2   2 1  3
large  8,384,6,4096,128   16 128 5 2   1 1  3
gpt2   12,768,12,50257,256 4 256 2 1   1 1  2"
# REINFORCE: 8 prompts of 32 tokens, 4 samples of 32 new tokens each; generation: prompt 8, 56 new tokens
RL="--prompt 32 --new-tokens 32 --rl-prompts 8 --rl-samples 4"
GEN="--prompt 8 --new-tokens 56"

has() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac; }
engine() {  # threads, args...
    local th="$1"; shift
    OPENBLAS_NUM_THREADS="$th" CLP_FLOW_THREADS="$th" "$BIN" "$@" >> "$log" || echo "  (clp-flow $* failed)" >&2
}
torchrun() {  # threads, args...
    local th="$1"; shift
    OMP_NUM_THREADS="$th" "$PY" bench/torch_ladder.py --threads "$th" "$@" 2>"$out/err" >> "$log" \
        || { echo "  (pytorch $* failed: $(tail -1 "$out/err"))" >&2; }
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
for round in $(seq 1 "$rounds"); do
    while read -r name shape B T tsteps twarm rsteps rwarm greps; do
        has "$rows" "$name" || continue
        if [ "$quick" = 1 ]; then
            tsteps=$(( tsteps > 3 ? 3 : tsteps )); twarm=1; rsteps=1; rwarm=1; [ "$name" = gpt2 ] && rwarm=0; greps=$(( greps > 2 ? 2 : greps ))
        fi
        echo "[round $round] $name ($shape) load $(cut -d' ' -f1 /proc/loadavg)" >&2
        if has "$modes" train; then
            threads="$threads2"
            { [ "$threads2" != 1 ] && { [ "$one" = all ] || has "$one" "$name"; }; } && threads="$threads2 1"
            for th in $threads; do
                common=(--shape "$shape" --batch "$B" --seq "$T" --steps "$tsteps" --warmup "$twarm")
                engine "$th" --only train "${common[@]}"
                torchrun "$th" --impl lean --mode train "${common[@]}"
                torchrun "$th" --impl hf --mode train "${common[@]}"
                torchrun "$th" --impl compiled --mode train "${common[@]}"
                engine "$th" --only gemm --shape "$shape" --batch "$B" --seq "$T"
            done
        fi
        if has "$modes" rl; then
            engine "$threads2" --only rl --shape "$shape" --steps "$rsteps" --warmup "$rwarm" $RL
            torchrun "$threads2" --impl lean --mode rl --shape "$shape" --steps "$rsteps" --warmup "$rwarm" $RL
        fi
        if has "$modes" gen; then
            for gb in 1 16; do
                engine "$threads2" --only gen --shape "$shape" --gen-batches "$gb" --steps "$greps" --warmup 1 $GEN
                torchrun "$threads2" --impl lean --mode gen --shape "$shape" --gen-batch "$gb" --steps "$greps" --warmup 1 $GEN
                torchrun "$threads2" --impl hf --mode gen --shape "$shape" --gen-batch "$gb" --steps "$greps" --warmup 1 $GEN
            done
        fi
    done <<< "$table"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); wall time $(( $(date +%s) - start )) s"
"$PY" bench/ladder_report.py "$log"
