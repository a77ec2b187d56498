#!/usr/bin/env python3
"""Writes the base model's card and files from a finished run of workflows/base-model.yaml.

    python3 scripts/model-card.py runs/base-model models/clp-base

Copies π_ref (the fine-tuned model of the run: model.safetensors, config.json, tokenizer files)
into OUT, and writes OUT/README.md (the model card), OUT/loss-curve.svg and OUT/recipe.json (the
cache keys and the first recorded pretraining losses, which the test suite reproduces bit for bit).
Every figure comes from the run directory's artifacts and run store; nothing is typed in.
"""
import datetime
import json
import math
import os
import random
import shutil
import sqlite3
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def field(d, name):
    """A field of an artifact file by its snake_case name; runs of older versions wrote the same
    field in camelCase (`reward_names` was `rewardNames`)."""
    if name in d:
        return d[name]
    head, *rest = name.split("_")
    return d[head + "".join(w[:1].upper() + w[1:] for w in rest)]


def artifact(run, key, *parts):
    return os.path.join(run, "artifacts", key, *parts)


def bootstrap_ci(xs, seed=0, n=2000):
    """95 % percentile bootstrap interval of the mean."""
    rng = random.Random(seed)
    k = len(xs)
    means = sorted(sum(xs[rng.randrange(k)] for _ in range(k)) / k for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def step_seconds(run, step_id, cache_key):
    """Wall time of every attempt of the step with this cache key (an attempt stopped and resumed
    from its saved state counts with both parts) and the number of attempts."""
    db = sqlite3.connect(os.path.join(run, "runs.sqlite"))
    rows = db.execute("SELECT started, ended FROM steps WHERE step_id = ? AND cache_key = ? "
                      "AND started IS NOT NULL AND ended IS NOT NULL ORDER BY run_id", (step_id, cache_key)).fetchall()
    total = 0.0
    for started, ended in rows:
        a = datetime.datetime.fromisoformat(started.replace("Z", "+00:00"))
        b = datetime.datetime.fromisoformat(ended.replace("Z", "+00:00"))
        total += (b - a).total_seconds()
    return (total if rows else None), len(rows)


def svg_curve(pre, ref, path):
    """Training loss (every step, smoothed over 20) and validation loss of both phases."""
    w, h, left, bottom, top, right = 720, 320, 56, 40, 20, 20
    phases = [(pre, 0), (ref, len(pre))]
    total = len(pre) + len(ref)
    pts = [(off + r["step"], r["metrics"]["loss"]) for recs, off in phases for r in recs]
    vals = [(off + r["step"], r["metrics"]["valid_loss"]) for recs, off in phases for r in recs if "valid_loss" in r["metrics"]]
    ys = [y for _, y in pts] + [y for _, y in vals]
    y0, y1 = 0.0, max(ys) * 1.05

    def X(x):
        return left + (w - left - right) * x / total

    def Y(y):
        return top + (h - top - bottom) * (1 - (y - y0) / (y1 - y0))

    smooth = []
    for i in range(len(pts)):
        window = [y for _, y in pts[max(0, i - 19):i + 1]]
        smooth.append((pts[i][0], sum(window) / len(window)))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    for k in range(0, int(y1) + 1):
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{Y(k):.1f}" y2="{Y(k):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{Y(k) + 4:.1f}" text-anchor="end">{k}</text>')
    out.append(f'<line x1="{X(len(pre)):.1f}" x2="{X(len(pre)):.1f}" y1="{top}" y2="{h - bottom}" stroke="#999" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{X(len(pre) / 2):.1f}" y="{h - 8}" text-anchor="middle">pretraining (all tokens)</text>')
    out.append(f'<text x="{X(len(pre) + len(ref) / 2):.1f}" y="{h - 8}" text-anchor="middle">fine-tuning (summary tokens)</text>')
    d = " ".join(f"{'M' if i == 0 else 'L'}{X(x):.1f},{Y(y):.1f}" for i, (x, y) in enumerate(smooth))
    out.append(f'<path d="{d}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    for x, y in vals:
        out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="#d62728"/>')
    out.append(f'<text x="{w - right}" y="{top + 12}" text-anchor="end" fill="#1f77b4">training loss (nats/token, mean of 20 steps)</text>')
    out.append(f'<text x="{w - right}" y="{top + 26}" text-anchor="end" fill="#d62728">validation loss</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    # --same-bytes-as STEP=KEY: STEP's artifact was first produced under cache key KEY by an
    # earlier binary that keyed it differently (its inputs verified byte-identical); the card
    # counts that key's attempts in the wall time and names both keys.
    args, earlier = [], {}
    it = iter(sys.argv[1:])
    for a in it:
        if a == "--same-bytes-as":
            step, _, k = next(it).partition("=")
            earlier[step] = k
        else:
            args.append(a)
    if len(args) != 2:
        sys.exit("usage: model-card.py RUN_DIR OUT_DIR [--same-bytes-as STEP=EARLIER_KEY ...]")
    run, out = args
    plan = load(os.path.join(run, "plan.json"))
    steps = {s["id"]: s for s in plan["steps"]}
    key = {sid: s.get("cache_key") or s["cacheKey"] for sid, s in steps.items()}
    pre_cfg = steps["pretrain"]["config"]
    ref_cfg = steps["train-reference"]["config"]
    eval_id = next(sid for sid in steps if sid.startswith("evaluate"))
    data_report = load(artifact(run, key["prepare-data"], "data.json"))
    pre_sum = load(artifact(run, key["pretrain"], "summary.json"))
    pre_curve = load(artifact(run, key["pretrain"], "curve.json"))
    ref_sum = load(artifact(run, key["train-reference"], "summary.json"))
    config = load(artifact(run, key["train-reference"], "model", "config.json"))
    ev = load(artifact(run, key[eval_id], "evaluation.json"))
    tests = {}
    with open(artifact(run, key["prepare-data"], "data", "test.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            tests[e["id"]] = e

    # the fine-tuning curve is in the run store (train-reference writes no curve file)
    db = sqlite3.connect(os.path.join(run, "runs.sqlite"))
    rows = db.execute("SELECT name, training_step, value FROM metrics WHERE step_id = 'train-reference' "
                      "AND run_id = (SELECT MAX(run_id) FROM metrics WHERE step_id = 'train-reference') "
                      "AND training_step IS NOT NULL ORDER BY training_step").fetchall()
    ref_curve = {}
    for name, step, value in rows:
        ref_curve.setdefault(step, {})[name] = value
    ref_records = [{"step": s, "metrics": m} for s, m in sorted(ref_curve.items()) if "loss" in m]

    os.makedirs(out, exist_ok=True)
    src = artifact(run, key["train-reference"], "model")
    for name in sorted(os.listdir(src)):
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    svg_curve(pre_curve, ref_records, os.path.join(out, "loss-curve.svg"))

    first = [r["metrics"]["loss"] for r in pre_curve[:5]]
    recipe = {
        "workflow": "workflows/base-model.yaml",
        "command": "clp-flow run workflows/base-model.yaml --run-dir runs/base-model",
        "cache_keys": {"prepare-data": key["prepare-data"], "train-tokenizer": key["train-tokenizer"],
                       "pretrain": key["pretrain"], "train-reference": key["train-reference"]},
        "first_pretrain_losses": first,
        "parameters": None,
    }
    n_params = config["n_layer"] * (12 * config["n_embd"] ** 2 + 13 * config["n_embd"]) + \
        config["vocab_size"] * config["n_embd"] + config["n_positions"] * config["n_embd"] + 2 * config["n_embd"]
    recipe["parameters"] = n_params
    with open(os.path.join(out, "recipe.json"), "w") as f:
        json.dump(recipe, f, indent=2, sort_keys=True)
        f.write("\n")

    # ROUGE-L of π_ref and Lead-k on the same prompts; per-prompt scores are not stored, so the
    # interval is mean ± 1.96 standard errors.
    names = field(ev, "reward_names")
    ri = names.index("rougeL")
    ref_point = ev["reference"]
    prompts = ev["evaluation"]["prompts"]

    def ci(est):
        return f"{est['mean']:.3f} ± {1.96 * est['se']:.3f}"

    def seconds(step):
        t, n = step_seconds(run, step, key[step])
        if step in earlier:
            t0, n0 = step_seconds(run, step, earlier[step])
            t, n = (t or 0) + (t0 or 0), n + n0
        return t, n
    pre_t, pre_attempts = seconds("pretrain")
    ref_t, _ = seconds("train-reference")
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    pre = pre_cfg["pretrain"]
    ref = ref_cfg["reference"]
    lines = []
    lines.append("# clp-base: the project's base model\n")
    lines.append("A GPT-2-architecture model that writes one-line synopses of Debian package descriptions. "
                 "Every shipped workflow starts from it (`model: {init: models/clp-base}` relative to the "
                 "repository root) and it opens in Hugging Face `transformers` as it is "
                 "(`GPT2LMHeadModel.from_pretrained('models/clp-base')`).\n")
    lines.append("## Model\n")
    lines.append(f"- {config['n_layer']} layers, d_model {config['n_embd']}, {config['n_head']} heads, context {config['n_positions']}, "
                 f"vocabulary {config['vocab_size']} (byte-level BPE trained on the training split, with `<|endoftext|>` and `<|summary|>`), tied head: "
                 f"{n_params:,} parameters.")
    lines.append(f"- `model.safetensors`: float32, {size / 1e6:.1f} MB. The tokenizer files (`vocab.json`, `merges.txt`, "
                 "`clp_tokenizer.json`) sit next to it.\n")
    lines.append("## Data\n")
    lines.append(f"- Debian package long descriptions (apt's English description index) → synopses: {data_report['loaded']:,} "
                 f"unique descriptions loaded, {field(data_report, 'after_filter'):,} after the length filters; split seed 0: "
                 f"{data_report['train']:,} train, {data_report['valid']} valid, {data_report['test']} test.")
    lines.append("- Valid and test examples are never trained on. Shipped workflows use the same split seed with at most "
                 "512 + 512 held-out examples, so their valid and test prompts are among this model's held-out examples "
                 "(the first 1,024 in hash order).\n")
    lines.append("## Training\n")
    lines.append(f"1. **Pretraining** (`pretrain` step): every training example written as document, `<|summary|>`, synopsis, "
                 f"`<|endoftext|>`, packed into windows of {config['n_positions']} tokens, every token predicted. "
                 f"{pre['steps']:,} steps × {pre['batch']} windows ({field(pre_sum, 'tokens_seen'):,} tokens, {pre_sum['epochs']:.2f} epochs), "
                 f"AdamW lr {pre['learning_rate']} ({pre['schedule']}, warm-up {pre['warmup']}), weight decay {pre['weight_decay']}, clip {pre['clip']}. "
                 f"Final training loss {field(pre_sum, 'final_train_loss'):.3f}, validation loss {field(pre_sum, 'valid_loss'):.3f} nats/token "
                 f"(perplexity {field(pre_sum, 'valid_perplexity'):.1f})" + (f"; wall time {pre_t / 60:.1f} min" if pre_t else "")
                 + (f" over {pre_attempts} attempts (the step was stopped and continued from its saved state; "
                    "the result is the same bytes as one uninterrupted attempt)." if pre_attempts > 1 else ".")
                 + (f" It was trained under cache key `{earlier['pretrain']}`; a later binary keys the data step by content, "
                    f"its prepared data and tokenizer came out byte-identical, and the same files are published under "
                    f"`{key['pretrain']}`." if "pretrain" in earlier else ""))
    lines.append(f"2. **Fine-tuning** (`train-reference` step): document → synopsis, loss on synopsis tokens only; "
                 f"{ref['steps']} steps × {ref['batch']} examples, lr {ref['learning_rate']}. Validation loss "
                 f"{field(ref_sum, 'valid_loss'):.3f} nats per synopsis token (perplexity {field(ref_sum, 'valid_perplexity'):.1f})"
                 + (f"; wall time {ref_t / 60:.1f} min." if ref_t else "."))
    lines.append("")
    lines.append("![loss curve](loss-curve.svg)\n")
    lines.append("## ROUGE-L against copying\n")
    lines.append(f"{prompts} held-out test pairs, greedy decoding (temperature 0), at most "
                 f"{steps[eval_id]['config']['evaluate']['max_new_tokens']} new tokens; ROUGE-L F1 with the project's own "
                 "implementation and tokenisation (lowercased alphanumeric words). Lead-k is the description's first k words. "
                 "Intervals: mean ± 1.96 standard errors over the prompts.\n")
    lines.append("| summariser | ROUGE-L |")
    lines.append("|---|---|")
    lines.append(f"| **π_ref (this model)** | **{ci(ref_point['rewards'][ri])}** |")
    for p in ev.get("lead") or []:
        lines.append(f"| Lead-{p['k']} | {ci(p['rewards'][ri])} |")
    lines.append("")
    lines.append("## Greedy samples (test split)\n")
    lines.append("| description (start) | reference synopsis | clp-base |")
    lines.append("|---|---|---|")
    for s in ev["evaluation"]["samples"][:8]:
        e = tests.get(field(s, "example_id"))
        if not e:
            continue
        doc = " ".join(e["document"].split())
        doc = doc[:140] + ("…" if len(doc) > 140 else "")
        cell = lambda t: t.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {cell(doc)} | {cell(e['summary'])} | {cell(s['text'].strip())} |")
    lines.append("")
    lines.append("## Reproduce\n")
    lines.append("```\nclp-flow run workflows/base-model.yaml --run-dir runs/base-model\n"
                 "python3 scripts/model-card.py runs/base-model models/clp-base\n```\n")
    lines.append(f"Cache keys of the run that trained it (a key names the exact configuration and inputs as that binary "
                 "encoded them; a later binary that keys a step on other fields gives other keys for the same outputs): "
                 f"pretrain `{key['pretrain']}`, train-reference `{key['train-reference']}`. "
                 "`recipe.json` holds them with the first five pretraining losses; `scripts/checks/base-model.sh` (part of "
                 "`make test`) reruns the first pretraining steps from the same data and seed and compares the losses bit for "
                 "bit, and loads this directory in `transformers` to compare its logits with clp-flow's.")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}: model.safetensors {size} bytes, ROUGE-L π_ref {ci(ref_point['rewards'][ri])}")


if __name__ == "__main__":
    main()
