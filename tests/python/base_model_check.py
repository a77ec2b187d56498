"""Checks models/clp-base against its recipe (see scripts/checks/base-model.sh)."""
import json
import subprocess
import sys
from pathlib import Path

import torch
from transformers import GPT2LMHeadModel

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "clp-base"


def fail(message):
    print(f"base-model: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2]).resolve()
    recipe = json.loads((MODEL / "recipe.json").read_text())

    # 1. transformers loads the shipped directory as it is, with clp-flow's logits.
    model = GPT2LMHeadModel.from_pretrained(MODEL).eval()
    n = sum(p.numel() for p in model.parameters())
    if n != recipe["parameters"]:
        fail(f"{n} parameters in transformers, recipe says {recipe['parameters']}")
    tokens = [5, 17, 300, 1024, 9, 77, 2047, 3]
    out = subprocess.run([binary, "debug-logits", "--checkpoint", str(MODEL), "--tokens", ",".join(map(str, tokens))], capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"debug-logits failed: {out.stderr}")
    ours = torch.tensor(json.loads(out.stdout)["logits"])
    with torch.no_grad():
        theirs = model(torch.tensor([tokens])).logits[0]
    delta = (ours - theirs).abs().max().item()
    if delta > 1e-4:
        fail(f"max |Δlogit| {delta:.3g} between clp-flow and transformers")
    print(f"base-model: transformers loads models/clp-base ({n:,} parameters), max |Δlogit| {delta:.2g}")

    # 2. The first pretraining steps of the recipe, rerun, give the recorded losses bit for bit.
    k = len(recipe["first_pretrain_losses"])
    wf = work / "first-steps.yaml"
    wf.write_text(
        f"extends: {ROOT / 'workflows' / 'base-model.yaml'}\n"
        "name: base-model-first-steps\n"
        f"pretrain: {{steps: {k}, eval_every: 0, checkpoint_every: 0}}\n"
        "reference: {steps: 0}\n"
        "evaluate: {prompts: 2, max_new_tokens: 4, sample_prompts: 1}\n")
    run = subprocess.run([binary, "run", str(wf), "--run-dir", str(work / "run"), "--quiet"], capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"run failed ({run.returncode}): {run.stderr[-2000:]}")
    plan = json.loads((work / "run" / "plan.json").read_text())
    keys = {s["id"]: s.get("cache_key") or s["cacheKey"] for s in plan["steps"]}
    # The rerun trains the same tokenizer on the same split (keys may differ from the recipe's when
    # a later binary keys a step on other fields; the outputs must not).
    tok = work / "run" / "artifacts" / keys["train-tokenizer"] / "tokenizer"
    for name in ("vocab.json", "merges.txt"):
        if (tok / name).read_bytes() != (MODEL / name).read_bytes():
            fail(f"the rerun's tokenizer {name} differs from the shipped one")
    curve = json.loads((work / "run" / "artifacts" / keys["pretrain"] / "curve.json").read_text())
    got = [r["metrics"]["loss"] for r in curve[:k]]
    if got != recipe["first_pretrain_losses"]:
        fail(f"first pretraining losses {got} differ from the recorded {recipe['first_pretrain_losses']}")
    print(f"base-model: the first {k} pretraining losses reproduce bit for bit: {got}")


if __name__ == "__main__":
    main()
