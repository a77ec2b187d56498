#!/usr/bin/env python3
"""Does a run steer? Per method and reward: Spearman ρ(wᵢ, rᵢ) and the spread of rᵢ over the
weighting grid, for every seed replica of the run, then their mean with a 95 % t-interval over
seeds; the spread that noise alone gives (ρ and spread of a method whose points differ only by
sampling noise, estimated by drawing each point's mean from N(grand mean, se²)); and each vertex's
reward against π_ref's on the same prompts.

    python3 docs/experiments/steering.py RUN_DIR

Reads RUN_DIR/plan.json and every evaluate step's evaluation.json.
"""
import json
import math
import os
import random
import sys
from collections import defaultdict

from artifact_fields import field

T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def spearman(xs, ys):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(v):
            j = i
            while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den > 0 else float("nan")




def interval(xs):
    xs = [x for x in xs if not math.isnan(x)]
    if not xs:
        return "–"
    m = sum(xs) / len(xs)
    if len(xs) == 1:
        return f"{m:.3f} (1 seed)"
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    h = T95.get(len(xs) - 1, 1.96) * sd / math.sqrt(len(xs))
    return f"{m:.3f} [{m - h:.3f}, {m + h:.3f}]"


def main():
    run = sys.argv[1]
    plan = json.load(open(os.path.join(run, "plan.json")))
    evals = [s for s in plan["steps"] if s["kind"] == "evaluate"]
    per = defaultdict(list)   # label -> [evaluation artifact per seed]
    for s in evals:
        e = json.load(open(os.path.join(run, "artifacts", s.get("cache_key") or s["cacheKey"], "evaluation.json")))
        per[e["label"]].append(e)
    names = field(next(iter(per.values()))[0], "reward_names")
    rng = random.Random(0)
    print(f"run {run}: {len(next(iter(per.values())))} seed replica(s), rewards {', '.join(names)}\n")
    print("| method | reward | ρ(wᵢ, rᵢ) | spread of rᵢ | noise-only spread | vertex − π_ref |")
    print("|---|---|---|---|---|---|")
    for label, es in per.items():
        for i, n in enumerate(names):
            rhos, spreads, noise, gains = [], [], [], []
            for e in es:
                pts = e["evaluation"]["points"]
                w = [p["weights"][i] for p in pts]
                r = [p["rewards"][i]["mean"] for p in pts]
                rhos.append(spearman(w, r))
                spreads.append(max(r) - min(r))
                grand = sum(r) / len(r)
                ses = [p["rewards"][i]["se"] for p in pts]
                sims = []
                for _ in range(400):
                    sim = [rng.gauss(grand, se) for se in ses]
                    sims.append(max(sim) - min(sim))
                noise.append(sorted(sims)[int(0.95 * len(sims))])
                vertex = max(pts, key=lambda p: p["weights"][i])
                gains.append(vertex["rewards"][i]["mean"] - e["reference"]["rewards"][i]["mean"])
            print(f"| {label} | {n} | {interval(rhos)} | {interval(spreads)} | {interval(noise)} (95th pct.) | {interval(gains)} |")
    lead = next(iter(per.values()))[0].get("lead") or []
    if lead:
        ref = next(iter(per.values()))[0]["reference"]
        print("\nπ_ref and Lead-k on the same prompts (first replica):\n")
        print("| summariser | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        print("| π_ref | " + " | ".join(f"{r['mean']:.3f} ± {1.96 * r['se']:.3f}" for r in ref["rewards"]) + " |")
        for p in lead:
            print(f"| Lead-{p['k']} | " + " | ".join(f"{r['mean']:.3f} ± {1.96 * r['se']:.3f}" for r in p["rewards"]) + " |")


if __name__ == "__main__":
    main()
