"""Prints the size ladder of bench/run.sh from its JSON lines (clp-flow-bench and
bench/torch_ladder.py): per row, the training step, sgemm, the REINFORCE step and generation, each
with peak RSS and the ratio against the fastest PyTorch variant; then a summary against the
targets. Usage: python bench/ladder_report.py results.jsonl"""
import json
import sys

ROWS = ["bench", "nano", "micro", "mini", "small", "medium", "large", "gpt2"]
NAMES = {"2,128,4,256,64": "bench", "2,64,2,4096,128": "nano", "2,128,4,4096,128": "micro",
         "4,192,6,4096,128": "mini", "6,256,8,4096,128": "small", "6,320,5,4096,128": "medium",
         "8,384,6,4096,128": "large", "12,768,12,50257,256": "gpt2"}
TORCH = ["lean", "compiled", "hf"]


def forward_flops(shape, B, T):
    """Matrix-multiply FLOPs of one forward (the engine benchmark's count): linear layers, both
    attention products, the head."""
    L, C, H, V, _ = (int(x) for x in shape.split(","))
    N = B * T
    per_layer = 2 * N * C * 12 * C + 4 * B * H * T * T * (C // H)
    return L * per_layer + 2 * N * C * V


def params(shape):
    L, C, H, V, P = (int(x) for x in shape.split(","))
    return V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C


def main():
    recs = []
    seen_torch = set()
    for line in open(sys.argv[1]):
        line = line.strip()
        if line.startswith("{"):
            recs.append(json.loads(line))
            if "torch" in recs[-1]:
                seen_torch.add(recs[-1]["torch"])
    if seen_torch:
        print("torch " + ", ".join(sorted(seen_torch)))

    def best(mode, impl, shape, threads=2, key="ms_per_step", pick=min, **match):
        vals = [r for r in recs if r["mode"] == mode and r["impl"] == impl and r["shape"] == shape
                and (threads is None or r["threads"] == threads) and all(r.get(k) == v for k, v in match.items())]
        if not vals:
            return None
        return pick(vals, key=lambda r: r[key])

    def fmt(x, spec):
        return format(x, spec) if x is not None else "-".rjust(len(format(0.0, spec)))

    summary = []
    shapes = sorted({r["shape"] for r in recs}, key=lambda s: ROWS.index(NAMES.get(s, "gpt2")) if s in NAMES else 99)
    for shape in shapes:
        name = NAMES.get(shape, shape)
        L, C, H, V, P = shape.split(",")
        tr = [r for r in recs if r["shape"] == shape and r["mode"] == "train"]
        B, T = (tr[0]["B"], tr[0]["T"]) if tr else (None, None)
        print(f"\n=== {name}: {L} layers, d_model {C}, {H} heads, vocab {V}, context {P}; "
              f"{params(shape) / 1e6:.2f} M parameters" + (f"; training batch {B} x {T}" if B else ""))
        row = {"name": name}
        for th in sorted({r["threads"] for r in tr}, reverse=True):
            eng = best("train", "clp-flow", shape, th)
            if not eng:
                continue
            flops = 3 * forward_flops(shape, B, T)
            print(f"  training step, {th} thread{'s' if th > 1 else ''}: ms/step   tok/s   GFLOP/s  cpu ms   peak RSS MB   vs clp-flow")
            line = lambda label, r: print(
                f"    {label:18s} {r['ms_per_step']:9.2f} {B * T / r['ms_per_step'] * 1000:8.0f} "
                f"{flops / r['ms_per_step'] / 1e6:8.1f} {r.get('cpu_ms_per_step', float('nan')):8.1f} "
                f"{r['peak_rss_mb']:10.0f}   {r['ms_per_step'] / eng['ms_per_step']:6.2f}x")
            line("clp-flow", eng)
            fastest = None
            for impl in TORCH:
                r = best("train", impl, shape, th)
                if r:
                    line(f"pytorch {impl}", r)
                    if fastest is None or r["ms_per_step"] < fastest[1]["ms_per_step"]:
                        fastest = (impl, r)
            if fastest:
                sp = fastest[1]["ms_per_step"] / eng["ms_per_step"]
                cpu = fastest[1].get("cpu_ms_per_step", 0) / eng.get("cpu_ms_per_step", 1) if th == 1 else None
                print(f"    speed-up vs the fastest PyTorch ({fastest[0]}): {sp:.2f}x wall"
                      + (f", {cpu:.2f}x CPU time" if cpu else "")
                      + f"   (forward {eng['forward_ms']:.1f} ms, backward {eng['backward_ms']:.1f} ms, "
                        f"clip+AdamW {eng.get('update_ms', 0):.1f} ms)")
                row[f"train{min(th, 2)}"] = sp
                if cpu:
                    row["train1cpu"] = cpu
            g = best("gemm", "clp-flow", shape, th, key="gflops_linear_shapes", pick=max)
            if g:
                ach = flops / eng["ms_per_step"] / 1e6
                print(f"    sgemm on the step's shapes: {g['gflops_linear_shapes']:.1f} GFLOP/s; the step achieves "
                      f"{ach:.1f} ({ach / g['gflops_linear_shapes']:.0%})   ["
                      + ", ".join(f"{s['name']} {s['shape']} {s['gflops']:.0f}" for s in g["shapes"]) + "]")
                row[f"gemm{min(th, 2)}"] = ach / g["gflops_linear_shapes"]
                if th == 1 and "cpu_gflops_linear_shapes" in g:
                    # per CPU second: the figure that holds on a busy machine
                    cach = flops / eng["cpu_ms_per_step"] / 1e6
                    print(f"    per CPU second: sgemm {g['cpu_gflops_linear_shapes']:.1f} GFLOP/s, the step {cach:.1f} "
                          f"({cach / g['cpu_gflops_linear_shapes']:.0%})")
                    row["gemm1cpu"] = cach / g["cpu_gflops_linear_shapes"]
        e = best("rl", "clp-flow", shape, None)
        t = best("rl", "lean", shape, None)
        if e or t:
            print(f"  REINFORCE step (8 prompts x 4 samples, prompt 32, 32 new tokens), {(e or t)['threads']} thread(s):")
            print("                       ms/step   sample  pi_ref  policy fwd+bwd  clip+AdamW   peak RSS MB")
            for label, r in (("clp-flow", e), ("pytorch lean loop", t)):
                if r:
                    print(f"    {label:18s} {r['ms_per_step']:9.1f} {r['sample_ms']:8.1f} {r['reference_ms']:7.1f} "
                          f"{r['policy_ms']:14.1f} {r['update_ms']:11.1f} {r['peak_rss_mb']:12.0f}")
            if e and t:
                row["rl"] = t["ms_per_step"] / e["ms_per_step"]
                row["rlcpu"] = t["cpu_ms_per_step"] / e["cpu_ms_per_step"]
                print(f"    speed-up: {row['rl']:.2f}x wall, {t['cpu_ms_per_step'] / e['cpu_ms_per_step']:.2f}x CPU time")
        for gb in (1, 16):
            e = best("gen", "clp-flow", shape, None, key="tokens_per_s", pick=max, batch=gb)
            ts = {impl: best("gen", impl, shape, None, key="tokens_per_s", pick=max, batch=gb) for impl in ("lean", "hf")}
            if not e and not any(ts.values()):
                continue
            if gb == 1:
                print(f"  generation (prompt 8, 56 new tokens, temperature 1, KV cache), {(e or next(v for v in ts.values() if v))['threads']} thread(s):"
                      "   tok/s   CPU s   peak RSS MB")
            for label, r in [("clp-flow", e)] + [(f"pytorch {k}", v) for k, v in ts.items()]:
                if r:
                    print(f"    batch {gb:2d} {label:15s} {r['tokens_per_s']:9.0f} {r.get('cpu_seconds', float('nan')):7.3f} {r['peak_rss_mb']:10.0f}")
            fast = max((v for v in ts.values() if v), key=lambda r: r["tokens_per_s"], default=None)
            if e and fast:
                row[f"gen{gb}"] = e["tokens_per_s"] / fast["tokens_per_s"]
                fcpu = min((v for v in ts.values() if v and "cpu_seconds" in v), key=lambda r: r["cpu_seconds"], default=None)
                if fcpu and "cpu_seconds" in e:
                    row[f"gen{gb}cpu"] = fcpu["cpu_seconds"] / e["cpu_seconds"]
                print(f"    batch {gb:2d} speed-up vs the fastest PyTorch loop ({fast['impl']}): {row[f'gen{gb}']:.2f}x wall"
                      + (f", {row[f'gen{gb}cpu']:.2f}x CPU time" if f"gen{gb}cpu" in row else ""))
        summary.append(row)

    print("\n=== summary: clp-flow speed-up against the fastest PyTorch variant (> 1: the engine is faster)")
    def cell(r, key, width):
        wall, cpu = r.get(key), r.get(key + "cpu")
        text = "-" if wall is None else f"{wall:.2f}" + (f" ({cpu:.2f})" if cpu is not None else "")
        return text.rjust(width)
    print(f"  {'row':8s} {'train 2t':>9s} {'train 1t':>13s} {'step/sgemm 2t':>13s} {'1t':>13s} "
          f"{'REINFORCE':>13s} {'gen b1':>13s} {'gen b16':>13s}")
    for r in summary:
        r.setdefault("gemm1", None)
        print(f"  {r['name']:8s} {cell(r, 'train2', 9)} {cell(r, 'train1', 13)} {cell(r, 'gemm2', 13)} "
              f"{cell(r, 'gemm1', 13)} {cell(r, 'rl', 13)} {cell(r, 'gen1', 13)} {cell(r, 'gen16', 13)}")
    print("  wall-time ratios, and in parentheses the same ratio in CPU time (the steady one on a shared machine at one thread;")
    print("  with 2 threads CPU time also counts the threads' waiting)")
    print("  targets: train >= 1.5 (bench) and >= 1.2 (gpt2); step/sgemm >= 0.70 (gpt2); REINFORCE >= 2; generation >= 3")


if __name__ == "__main__":
    main()
