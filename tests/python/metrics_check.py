"""Independent implementations of the evaluation metrics, compared with `clp-flow debug-metrics`.

- Hypervolume by inclusion-exclusion over the boxes [r, p] (exact, exponential in the number of
  points, so only small fronts), in 2, 3 and 4 objectives.
- Spearman's rho from average ranks; its two-sided permutation p-value by enumerating all orders.
- Bootstrap percentile intervals of the mean with Python's own generator: the two implementations
  draw different resamples, so the ends must agree within Monte-Carlo error (checked against the
  interval's width), and both must be close to the normal-theory interval for a large sample.
- Whole evaluation grids (per-prompt rewards and KL at each grid point, π_ref's too): the `auto`
  reference point (per-objective minimum over π_ref and every point; −largest KL in multi-KL),
  the hypervolume of the grid means against a declared point and against the auto point, and its
  bootstrap interval with the prompts resampled jointly for every grid point (again within
  Monte-Carlo error of an independent resampling).
"""
import itertools
import json
import random
import statistics
import subprocess
import sys


def hv_exact(points, ref):
    boxes = [p for p in points if all(a > r for a, r in zip(p, ref))]
    total = 0.0
    for k in range(1, len(boxes) + 1):
        for subset in itertools.combinations(boxes, k):
            vol = 1.0
            for d in range(len(ref)):
                vol *= max(0.0, min(p[d] for p in subset) - ref[d])
            total += (-1) ** (k + 1) * vol
    return total


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / (sxx * syy) ** 0.5


def spearman(x, y):
    return pearson(ranks(x), ranks(y))


def perm_p(x, y):
    obs = abs(spearman(x, y)) - 1e-12
    hits = total = 0
    for perm in itertools.permutations(y):
        total += 1
        if abs(spearman(x, list(perm))) >= obs:
            hits += 1
    return hits / total


def quantile7(s, p):
    h = (len(s) - 1) * p
    lo = int(h)
    hi = min(len(s) - 1, lo + 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def boot(values, resamples, level, rng):
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    a = (1 - level) / 2
    return quantile7(means, a), quantile7(means, 1 - a)


def grid_vectors(points, idx, multi_kl):
    out = []
    for p in points:
        m = len(p["rewards"][0])
        v = [sum(p["rewards"][j][i] for j in idx) / len(idx) for i in range(m)]
        if multi_kl:
            v.append(-sum(p["kl"][j] for j in idx) / len(idx))
        out.append(v)
    return out


def grid_auto_point(case, multi_kl):
    n = len(case["reference"]["kl"])
    vecs = grid_vectors(case["points"] + [case["reference"]], list(range(n)), multi_kl)
    return [min(v[i] for v in vecs) for i in range(len(vecs[0]))]


def grid_case(rng, m, points, prompts, multi_kl, declared):
    # A per-prompt effect shared by every grid point (a hard prompt is hard at every weighting):
    # resampling prompts jointly keeps it, resampling each point on its own would not.
    effect = [rng.gauss(0, 0.15) for _ in range(prompts)]

    def pt(w, alpha, shift):
        rewards = [[round(shift[i] + effect[j] + rng.gauss(0, 0.1), 4) for i in range(m)] for j in range(prompts)]
        kl = [round(abs(rng.gauss(2 + 3 * (alpha or 0), 1)), 4) for _ in range(prompts)]
        return {"weights": w, "alpha": alpha, "rewards": rewards, "kl": kl}
    pts = []
    for k in range(points):
        t = k / (points - 1)
        w = [t, 1 - t] if m == 2 else [1.0]
        alpha = (0.05 + 0.4 * t) if multi_kl else None
        shift = [0.2 + 0.5 * t, 0.7 - 0.5 * t] if m == 2 else [0.3 + 0.4 * t]
        pts.append(pt(w, alpha, shift))
    ref = pt([1.0 / m] * m, None, [0.35] * m)
    ref["kl"] = [0.0] * prompts
    case = {"points": pts, "reference": ref, "resamples": 10000, "seed": 5}
    if declared is not None:
        case["declared"] = declared
    return case


def main():
    binary = sys.argv[1]
    rng = random.Random(7)
    hv_cases = []
    for m, n in [(2, 6), (2, 9), (3, 6), (3, 8), (4, 6)]:
        for _ in range(3):
            pts = [[round(rng.uniform(0, 1), 3) for _ in range(m)] for _ in range(n)]
            ref = [round(rng.uniform(-0.2, 0.3), 3) for _ in range(m)]
            hv_cases.append({"points": pts, "reference": ref})
    rho_cases = []
    for n in [5, 6, 7]:
        for _ in range(3):
            x = [i / (n - 1) for i in range(n)]
            y = [round(rng.gauss(0, 1) + 0.8 * xi, 2) for xi in x]
            rho_cases.append({"x": x, "y": y})
    rho_cases.append({"x": [0, 0.25, 0.5, 0.75, 1], "y": [0.1, 0.2, 0.3, 0.4, 0.5]})
    rho_cases.append({"x": [0, 0.25, 0.5, 0.75, 1], "y": [0.3, 0.1, 0.3, 0.2, 0.1]})
    boot_cases = []
    for n, dist in [(40, "normal"), (200, "skewed"), (256, "binary")]:
        if dist == "normal":
            v = [rng.gauss(0.3, 0.1) for _ in range(n)]
        elif dist == "skewed":
            v = [rng.expovariate(4.0) for _ in range(n)]
        else:
            v = [float(rng.random() < 0.3) for _ in range(n)]
        boot_cases.append({"values": v, "resamples": 20000, "level": 0.95, "seed": 3})
    grid_cases = [
        grid_case(rng, 2, 5, 40, False, [0.0, 0.0]),
        grid_case(rng, 2, 6, 30, False, None),
        grid_case(rng, 1, 5, 40, True, [0.1, -8.0]),
        grid_case(rng, 2, 4, 30, True, None),
    ]
    cases = {"hypervolume": hv_cases, "spearman": rho_cases, "bootstrap": boot_cases, "grids": grid_cases}
    out = subprocess.run([binary, "debug-metrics"], input=json.dumps(cases), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"debug-metrics failed: {out.stderr}")
    got = json.loads(out.stdout)
    failures = []
    for c, g in zip(hv_cases, got["hypervolume"]):
        want = hv_exact(c["points"], c["reference"])
        if abs(want - g["value"]) > 1e-9 * max(1, abs(want)):
            failures.append(f"hypervolume {c}: python {want}, clp-flow {g['value']}")
    for c, g in zip(rho_cases, got["spearman"]):
        want, p = spearman(c["x"], c["y"]), perm_p(c["x"], c["y"])
        if abs(want - g["value"]) > 1e-12 or abs(p - g["p"]) > 1e-12:
            failures.append(f"spearman {c}: python rho {want} p {p}, clp-flow rho {g['value']} p {g['p']}")
    brng = random.Random(11)
    worst = 0.0
    for c, g in zip(boot_cases, got["bootstrap"]):
        lo, hi = boot(c["values"], c["resamples"], c["level"], brng)
        width = hi - lo
        dev = max(abs(lo - g["lower"]), abs(hi - g["upper"])) / width
        worst = max(worst, dev)
        n = len(c["values"])
        mean, se = statistics.fmean(c["values"]), statistics.stdev(c["values"]) / n ** 0.5
        normal = (mean - 1.96 * se, mean + 1.96 * se)
        if dev > 0.05:
            failures.append(f"bootstrap n={n}: python [{lo:.5f}, {hi:.5f}], clp-flow [{g['lower']:.5f}, {g['upper']:.5f}]")
        if max(abs(g["lower"] - normal[0]), abs(g["upper"] - normal[1])) > 0.15 * width:
            failures.append(f"bootstrap n={n}: clp-flow [{g['lower']:.5f}, {g['upper']:.5f}] far from normal theory {normal}")
    grid_worst = 0.0
    grng = random.Random(13)
    for c, g in zip(grid_cases, got["grids"]):
        multi_kl = c["points"][0]["alpha"] is not None
        point = c.get("declared") or grid_auto_point(c, multi_kl)
        if any(abs(a - b) > 1e-12 for a, b in zip(point, g["point"])) or len(point) != len(g["point"]):
            failures.append(f"grid reference point: python {point}, clp-flow {g['point']}")
            continue
        n = len(c["reference"]["kl"])
        hv = hv_exact(grid_vectors(c["points"], list(range(n)), multi_kl), point)
        if abs(hv - g["hypervolume"]) > 1e-9 * max(1, abs(hv)):
            failures.append(f"grid hypervolume against {point}: python {hv}, clp-flow {g['hypervolume']}")
        values = []
        for _ in range(c["resamples"]):
            idx = [grng.randrange(n) for _ in range(n)]
            values.append(hv_exact(grid_vectors(c["points"], idx, multi_kl), point))
        values.sort()
        lo, hi = quantile7(values, 0.025), quantile7(values, 0.975)
        width = max(hi - lo, 1e-12)
        dev = max(abs(lo - g["lower"]), abs(hi - g["upper"])) / width
        grid_worst = max(grid_worst, dev)
        if dev > 0.08:
            failures.append(f"grid hypervolume interval: python [{lo:.5f}, {hi:.5f}], clp-flow [{g['lower']:.5f}, {g['upper']:.5f}]")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"metrics: {len(hv_cases)} hypervolumes (2-4 objectives) exact to 1e-9, {len(rho_cases)} Spearman rho and "
          f"permutation p-values identical, {len(boot_cases)} bootstrap intervals within {worst:.1%} of the "
          f"interval width of an independent bootstrap; {len(grid_cases)} evaluation grids: reference points (declared "
          f"and auto) and hypervolumes identical, prompt-bootstrap hypervolume intervals within {grid_worst:.1%} of the "
          f"interval width")


if __name__ == "__main__":
    main()
