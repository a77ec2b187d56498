#!/usr/bin/env python3
"""Markdown tables of a finished clp-flow run: hypervolume and steerability per method, averaged
over seeds (mean ± standard error), and generation speed. Reads RUN_DIR/plan.json, the report
step's report.json and the evaluate steps' evaluation.json (the last workflow run in RUN_DIR).

    python3 docs/experiments/summarize.py runs/paper > table.md
"""
import json, math, os, re, sys
from collections import defaultdict

from artifact_fields import field

run = sys.argv[1]
plan = json.load(open(os.path.join(run, "plan.json")))
steps = plan["steps"]
art = lambda s: os.path.join(run, "artifacts", s.get("cache_key") or s.get("cacheKey"))


def mean_se(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs: return "–"
    m = sum(xs) / len(xs)
    if len(xs) == 1: return f"{m:.4g}"
    v = sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
    return f"{m:.4g} ± {math.sqrt(v / len(xs)):.2g}"

report = [s for s in steps if s["kind"] == "report"][0]
data = json.load(open(os.path.join(art(report), "report.json")))
names = field(data, "reward_names")
print(f"Workflow `{plan.get('workflow_name') or plan.get('workflowName')}`, rewards: {', '.join(names)}; "
      f"hypervolume reference: {field(data['hypervolume'], 'reference_label', 'π_ref')} "
      f"({', '.join(f'{x:.4g}' for x in field(data['hypervolume'], 'reference_point'))})\n")
strip = lambda n: re.sub(r"(, )?seed=\d+", "", n).replace(" ()", "")
hv = defaultdict(list); dom = defaultdict(list)
for r in data["hypervolume"]["rows"]:
    hv[strip(r["method"])].append(r["hypervolume"]); dom[strip(r["method"])].append(field(r, "dominated_share", None))
steer = defaultdict(lambda: defaultdict(list)); spread = defaultdict(lambda: defaultdict(list))
for row in data.get("steerability", []):
    for i, e in enumerate(row["rewards"]):
        steer[strip(row["method"])][i].append(e.get("rho")); spread[strip(row["method"])][i].append(e.get("spread"))
seeds = max(len(v) for v in hv.values())
print(f"| method | hypervolume{' (mean ± se, ' + str(seeds) + ' seeds)' if seeds > 1 else ''} | dominated share | "
      + " | ".join(f"ρ({'1/α' if len(names) == 1 else 'w'}, {n}) / spread" for n in names) + " |")
print("|---|---|---|" + "---|" * len(names))
for m in sorted(hv, key=lambda k: -sum(hv[k]) / len(hv[k])):
    cells = [f"{mean_se(steer[m][i])} / {mean_se(spread[m][i])}" for i in range(len(names))]
    print(f"| {m} | {mean_se(hv[m])} | {mean_se(dom[m])} | " + " | ".join(cells) + " |")
speed = defaultdict(list)
for s in steps:
    if s["kind"] != "evaluate": continue
    p = os.path.join(art(s), "evaluation.json")
    if not os.path.exists(p): continue
    e = json.load(open(p))
    speed[e["label"]].append((field(e["evaluation"], "tokens_per_second"), field(e["evaluation"], "forward_passes_per_token")))
print("\n| method | forward passes per token | generation tokens/s during evaluation |")
print("|---|---|---|")
for m, v in sorted(speed.items()):
    print(f"| {m} | {v[0][1]} | {mean_se([x[0] for x in v])} |")
