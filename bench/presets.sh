#!/usr/bin/env bash
# Training throughput of every model preset (tokens per second of a full training step: forward,
# backward, AdamW), with the vocabulary and sequence length of the base model (4,096 BPE tokens,
# windows of 128), batch 16, at 1 and 2 threads. The figures go in docs/model.md.
# Usage: bench/presets.sh [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-8}"
SCRATCH="${CLP_FLOW_SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" --product clp-flow-bench 2>&1 | grep -E "error|Build" >&2 || true
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/clp-flow-bench"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
printf "%-8s %7s %5s %5s %10s %12s %12s\n" preset layers d_model heads params "tok/s 1 thr" "tok/s 2 thr"
# preset: layers d_model heads (docs/workflow-language.md)
for row in "nano 2 64 2" "micro 2 128 4" "mini 4 192 6" "small 6 256 8" "medium 6 320 5" "large 8 384 6"; do
    set -- $row
    shape="$2,$3,$4,4096,128"
    r1=$(CLP_FLOW_THREADS=1 "$BIN" --only train --shape "$shape" --batch 16 --seq 128 --steps "$steps" --warmup 2)
    r2=$(CLP_FLOW_THREADS=2 "$BIN" --only train --shape "$shape" --batch 16 --seq 128 --steps "$steps" --warmup 2)
    python3 - "$1" "$2" "$3" "$4" "$r1" "$r2" <<'PY'
import json, sys
name, l, c, h = sys.argv[1:5]
a, b = json.loads(sys.argv[5]), json.loads(sys.argv[6])
tok = 16 * 128
print(f"{name:<8} {l:>7} {c:>5} {h:>5} {a['params']:>10,} {tok / a['ms_per_step'] * 1000:>12,.0f} {tok / b['ms_per_step'] * 1000:>12,.0f}")
PY
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
