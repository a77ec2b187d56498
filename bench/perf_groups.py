"""Groups a `perf report` of clp-flow-bench into kernels: reads the output of
`perf report --no-children --sort dso,symbol --stdio -g none | swift demangle --simplified` on
stdin and prints each group's share of the on-CPU samples (model initialisation excluded).
Training steps have no small-row, sampling or KV-cache groups; generation has no AdamW."""
import re
import sys

GROUPS = [
    ("model initialisation (excluded)", r"SeededRandom|__cos_fma|__ieee754_log|__log_fma|GPTModel\.init\(config"),
    ("small-row kernel (ClpFlowSmallGemm)", r"nn_avx2|nt_avx2|nn_portable|nt_portable|clp_small_gemm"),
    ("sampling over the vocabulary", r"Generator\.sample|combine\("),
    ("attention over the KV cache", r"attend\(|KVCache"),
    ("sgemm micro-kernel", r"sgemm_kernel"),
    ("sgemm packing (copies of A and B)", r"sgemm_.*copy"),
    ("sgemm beta (scaling C)", r"sgemm_beta"),
    ("sgemm driver", r"sgemm_(nn|nt|tn|tt)\b|gemm_driver|cblas_sgemm"),
    ("AdamW", r"adamW"),
    ("gradient clipping (norm)", r"clipGradNorm|sumOfSquares"),
    ("cross-entropy (softmax over the vocabulary)", r"crossEntropy"),
    ("attention (scaling, mask, softmax)", r"attention(Forward|Backward)"),
    ("GELU", r"gelu"),
    ("layer norm", r"layerNorm"),
    ("bias, residual and linear glue", r"Linear|linear|residual|bias"),
    ("memcpy / memset", r"mem(move|set|cpy)"),
    ("operating system (page faults, scheduling)", r"\[k\]"),
]


def main():
    shares, total = {}, 0.0
    for line in sys.stdin:
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+(\[.\])\s+(.*)", line)
        if not m:
            continue
        pct, sym = float(m.group(1)), m.group(3) + " " + m.group(4)
        total += pct
        for name, rx in GROUPS:
            if re.search(rx, sym):
                shares[name] = shares.get(name, 0) + pct
                break
        else:
            shares["other"] = shares.get("other", 0) + pct
    init = shares.pop(GROUPS[0][0], 0)
    rest = total - init
    if rest <= 0:
        sys.exit("perf_groups.py: no samples")
    print(f"  (model initialisation: {init:.1f} % of the samples, left out)")
    gemm = 0.0
    for name, _ in GROUPS[1:] + [("other", "")]:
        if name in shares:
            share = shares[name] / rest * 100
            gemm += share if name.startswith("sgemm") else 0
            print(f"  {name:45s} {share:5.1f} %")
    print(f"  {'all of sgemm':45s} {gemm:5.1f} %")


if __name__ == "__main__":
    main()
