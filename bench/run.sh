#!/usr/bin/env bash
# Runs the engine benchmarks and the PyTorch reference in the same invocation (2 BLAS / torch
# threads each) and prints the figures side by side.
# Usage: bench/run.sh [--quick]   (CLP_FLOW_PYTHON: python with torch + transformers)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${CLP_FLOW_PYTHON:-python3}"
SCRATCH="${CLP_FLOW_SCRATCH:-.build}"
steps=50
[ "${1:-}" = "--quick" ] && steps=10
swift build -c release --scratch-path "$SCRATCH" --product clp-flow-bench 2>&1 | grep -E "error|warning: unre|Compiling|Build" >&2 || true
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/clp-flow-bench"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)" >&2
# interleave engine and PyTorch runs so both see the same machine conditions
for round in 1 2; do
    OPENBLAS_NUM_THREADS=2 CLP_FLOW_THREADS=2 "$BIN" --steps "$steps" >> "$out/engine.jsonl"
    OMP_NUM_THREADS=2 "$PY" bench/pytorch_reference.py --threads 2 --steps "$steps" 2>/dev/null >> "$out/torch.jsonl"
    # one thread each: less sensitive to other processes competing for the two cores
    OPENBLAS_NUM_THREADS=1 CLP_FLOW_THREADS=1 "$BIN" --only train --steps "$steps" >> "$out/engine1.jsonl"
    OMP_NUM_THREADS=1 "$PY" bench/pytorch_reference.py --threads 1 --only train --steps "$steps" 2>/dev/null >> "$out/torch1.jsonl"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$PY" - "$out/engine.jsonl" "$out/torch.jsonl" "$out/engine1.jsonl" "$out/torch1.jsonl" <<'PYEOF'
import json, sys
eng = [json.loads(l) for l in open(sys.argv[1])]
tor = [json.loads(l) for l in open(sys.argv[2])]
eng1 = [json.loads(l) for l in open(sys.argv[3])]
tor1 = [json.loads(l) for l in open(sys.argv[4])]
def best(rows, bench, key, pick=min, **match):
    vals = [r[key] for r in rows if r["bench"] == bench and all(r.get(k) == v for k, v in match.items())]
    return pick(vals)
e_ms = best(eng, "train_step", "ms_per_step"); t_ms = best(tor, "train_step", "ms_per_step")
train = [r for r in eng if r["bench"] == "train_step"]
print("== training step (2 layers, d_model 128, 4 heads, vocab 256, B 16, T 64, AdamW), best of 2 rounds")
print(f"  clp-flow : {e_ms:8.2f} ms/step   (forward {min(r['forward_ms'] for r in train):.2f} ms, "
      f"backward {min(r['backward_ms'] for r in train):.2f} ms)")
print(f"  pytorch  : {t_ms:8.2f} ms/step   (torch {tor[0]['torch']}, {tor[0]['threads']} threads)")
print(f"  speed-up : {t_ms / e_ms:8.2f}x  (engine vs PyTorch; > 1 means the engine is faster)")
e1 = min(r["ms_per_step"] for r in eng1); t1 = min(r["ms_per_step"] for r in tor1)
print(f"  1 thread : clp-flow {e1:.2f} ms/step, pytorch {t1:.2f} ms/step, speed-up {t1 / e1:.2f}x")
gf = max(r["achieved_gflops"] for r in train)
sg = max(r["gflops_linear_shapes"] for r in eng if r["bench"] == "sgemm")
print("== GFLOP/s (matrix-multiply FLOPs of fwd+bwd = 3 x forward)")
print(f"  training step achieved : {gf:7.1f} GFLOP/s   ({train[0]['gflops_per_step']:.2f} GFLOP per step)")
print(f"  sgemm on the same shapes: {sg:7.1f} GFLOP/s   (ratio {gf / sg:.2f})")
for s in [r for r in eng if r["bench"] == "sgemm"][-1]["shapes"]:
    print(f"    {s['name']:12s} {s['shape']:>14s}  {s['gflops']:6.1f} GFLOP/s")
print("== generation (prompt 8, 56 new tokens, sampling, KV cache)")
for b in sorted({r["batch"] for r in eng if r["bench"] == "generate"}):
    e = best(eng, "generate", "tokens_per_s", max, batch=b); t = best(tor, "generate", "tokens_per_s", max, batch=b)
    print(f"  batch {b:3d}: clp-flow {e:9.0f} tok/s   pytorch {t:8.0f} tok/s   ratio {e / t:6.1f}x")
PYEOF
