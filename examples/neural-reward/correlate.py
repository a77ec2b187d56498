#!/usr/bin/env python3
"""How the all-MiniLM-L6-v2 similarity rewards relate to ROUGE-L on a run's test split.

For every test example and every k in --lead (default 4, 8, 16), the candidate summary is the
document's first k words ("Lead-k", a baseline that needs no model). Each candidate is scored with

  * ROUGE-L F1 against the reference summary, as clp-flow's `rougeL` reward defines it
    (docs/rewards.md: NFC, lowercase, words = maximal runs of letters, marks and numbers;
    F1 of the longest common subsequence);
  * reward.py --against reference and --against document (cosine of MiniLM embeddings).

It prints Pearson's r and Spearman's ρ (average ranks for ties) of each MiniLM reward against
ROUGE-L over all candidates, and the scoring throughput of the model here.

    .venv/bin/python examples/neural-reward/correlate.py runs/neural-reward
"""
import argparse
import json
import math
import os
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reward import SimilarityReward  # noqa: E402


def words(text):
    out, cur = [], []
    for ch in unicodedata.normalize("NFC", text).lower():
        if unicodedata.category(ch)[0] in "LMN":
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def rouge_l(response, reference):
    a, b = words(response), words(reference)
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            cur[j + 1] = prev[j] + 1 if x == y else max(prev[j + 1], cur[j])
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for t in range(i, j + 1):
            r[order[t]] = (i + j) / 2 + 1
        i = j + 1
    return r


def test_split(run_dir):
    with open(os.path.join(run_dir, "plan.json"), encoding="utf-8") as f:
        plan = json.load(f)
    key = next(s.get("cache_key") or s["cacheKey"] for s in plan["steps"] if s["kind"] == "prepare-data")
    path = os.path.join(run_dir, "artifacts", key, "data", "test.jsonl")
    with open(path, encoding="utf-8") as f:
        return path, [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--lead", default="4,8,16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    # The examples of docs/rewards.md.
    assert abs(rouge_l("the cat lay on the mat", "The cat sat on the mat.") - 5 / 6) < 1e-12
    assert words("Don't STOP: GPT-2 café") == ["don", "t", "stop", "gpt", "2", "café"]

    path, test = test_split(args.run_dir)
    ks = [int(k) for k in args.lead.split(",")]
    items = []
    for ex in test:
        toks = ex["document"].split()
        for k in ks:
            items.append({"prompt": "", "document": ex["document"], "response": " ".join(toks[:k]), "reference": ex["summary"]})
    rouge = [rouge_l(it["response"], it["reference"]) for it in items]
    print(f"test split: {path} ({len(test)} examples); candidates: Lead-k for k in {ks} = {len(items)} summaries")
    print(f"ROUGE-L of the candidates: mean {sum(rouge) / len(rouge):.4f}")
    threads = max(1, args.threads)
    for against in ["reference", "document"]:
        t0 = time.perf_counter()
        model = SimilarityReward(against, threads, 256)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = []
        for i in range(0, len(items), args.batch):
            scores += model.score(items[i:i + args.batch])
        took = time.perf_counter() - t0
        print(f"similarity to the {against}: mean {sum(scores) / len(scores):.4f}; "
              f"Pearson r = {pearson(scores, rouge):.3f}, Spearman rho = {pearson(ranks(scores), ranks(rouge)):.3f} against ROUGE-L; "
              f"load {load:.2f} s, {len(items) / took:.1f} items/s in batches of {args.batch} ({threads} threads)")


if __name__ == "__main__":
    main()
