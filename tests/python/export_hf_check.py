"""Cross-check of `clp-flow export` with Hugging Face transformers.

Runs two small real workflows with the clp-flow binary (synthetic data, BPE tokenizer):
  A. attention-CLP with Rewarded Soups, SOFT, logit mixing and prompt conditioning as baselines;
  B. logit-CLP (untied head) conditioned on the KL weight (multi-KL), with DeRa.
Then exports θ(w) at several weightings and, for each, loads the directory with
GPT2LMHeadModel.from_pretrained and AutoTokenizer.from_pretrained exactly as written, and requires
  - the tokenizer to encode the prompt (prompt prefix, document, <|summary|>) to the ids clp-flow uses,
  - the logits on that prompt to equal clp-flow's logits at the same weighting (computed by the
    hidden `debug-policy-logits` command through ConditionedPolicy.activate, the path training and
    evaluation use) within 1e-5 (max |Δlogit| over every position and vocabulary entry),
  - generation with transformers (greedy) to give the same continuation as clp-flow's greedy
    `generate` at that weighting.
Methods that are not one network (logit-mixing, dera) must be refused with exit code 2.

Usage: export_hf_check.py CLP_FLOW_BINARY WORKDIR
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
from transformers import AutoTokenizer, GPT2LMHeadModel  # noqa: E402

TOL = 1e-5
DOC = "gegi kikoro botusi zu revo sevafo"

WORKFLOW_A = """
name: export-a
seed: 11
data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
model: {size: nano, context: 64, tokenizer: {kind: bpe, vocab_size: 300}}
reference: {steps: 30, batch: 8}
rewards:
  - {name: rouge, kind: rouge1}
  - {name: novel, kind: novelty, n: 1}
conditioning: attn
weights: {train: uniform, eval: {points_per_edge: 3}}
stages: [{steps: 6, batch: 2, samples: 2, max_new_tokens: 8, learning_rate: 0.01}]
baselines: [rewarded-soups, soft, logit-mixing, prompt]
evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
"""

WORKFLOW_B = """
name: export-b
seed: 12
data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
model: {size: nano, context: 64, tokenizer: {kind: bpe, vocab_size: 300}}
reference: {steps: 30, batch: 8}
rewards:
  - {name: rouge, kind: rouge1}
  - {name: novel, kind: novelty, n: 1}
kl: {range: {min: 0.01, max: 0.5}}
conditioning: logit
weights: {train: uniform, eval: {points_per_edge: 2}}
stages: [{steps: 6, batch: 2, samples: 2, max_new_tokens: 8, learning_rate: 0.01}]
baselines: [dera]
evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
"""


def run(args, check=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if check and p.returncode != 0:
        print(f"FAIL: {' '.join(map(str, args))} exited {p.returncode}\n{p.stderr}", file=sys.stderr)
        sys.exit(1)
    return p


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    worst = 0.0
    cases = 0
    for name, text in (("a", WORKFLOW_A), ("b", WORKFLOW_B)):
        wf = work / f"{name}.yaml"
        wf.write_text(text)
        rd = work / f"run-{name}"
        run([binary, "run", str(wf), "--run-dir", str(rd), "--max-parallel", "2", "--quiet"])
        if name == "a":
            exports = [("clp", [0.3, 0.7], None), ("clp", [1.0, 0.0], None), ("rewarded-soups", [0.6, 0.4], None),
                       ("soft", [0.0, 1.0], None), ("prompt", [0.25, 0.75], None)]
            refused = [("logit-mixing", [0.5, 0.5], None)]
        else:
            exports = [("clp", [0.2, 0.8], 0.03), ("clp", [0.9, 0.1], 0.4)]
            refused = [("dera", [0.5, 0.5], 0.1)]
        for k, (method, w, kl) in enumerate(exports):
            out = work / f"export-{name}-{k}"
            wtext = ",".join(str(x) for x in w)
            extra = ["--kl", str(kl)] if kl is not None else []
            run([binary, "export", "--run-dir", str(rd), "--method", method, "--weights", wtext, *extra, str(out)])
            files = sorted(p.name for p in out.iterdir())
            for f in ("config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json"):
                if f not in files:
                    print(f"FAIL: {out} lacks {f} ({files})", file=sys.stderr)
                    sys.exit(1)
            config = json.loads((out / "config.json").read_text())
            info = config["clp_flow"]
            model = GPT2LMHeadModel.from_pretrained(out).eval()
            tok = AutoTokenizer.from_pretrained(out)
            # As config.json's clp_flow.prompt_format says: the prompt prefix (prompt conditioning
            # only) and the document are encoded on their own, then the separator follows.
            prefix_ids = tok(info["prompt_prefix"])["input_ids"] if "prompt_prefix" in info else []
            hf_ids = prefix_ids + tok(DOC + info["separator_token"])["input_ids"]
            if hf_ids[-1] != info["separator_id"]:
                print(f"FAIL: transformers does not encode {info['separator_token']} as id {info['separator_id']}", file=sys.stderr)
                sys.exit(1)
            eng = json.loads(run([binary, "debug-policy-logits", "--run-dir", str(rd), "--method", method,
                                  "--weights", wtext, *extra, "--text", DOC]).stdout)
            if hf_ids != eng["tokens"]:
                print(f"FAIL: {method} w={w}: transformers tokenizes the prompt as {hf_ids}, clp-flow as {eng['tokens']}",
                      file=sys.stderr)
                sys.exit(1)
            with torch.no_grad():
                hf = model(torch.tensor([hf_ids])).logits[0].double().numpy()
            ours = np.array(eng["logits"], dtype=np.float64)
            diff = float(np.max(np.abs(hf - ours)))
            worst = max(worst, diff)
            cases += 1
            label = f"{name}:{method} w=({wtext})" + (f" α={kl}" if kl is not None else "")
            print(f"{label}: {len(hf_ids)} tokens × {hf.shape[1]} logits, max |Δlogit| = {diff:.2e} "
                  f"(logits up to {np.max(np.abs(ours)):.1f}), tie_word_embeddings={model.config.tie_word_embeddings}")
            if not diff <= TOL:
                print(f"FAIL: {label}: max |Δlogit| {diff} > {TOL}", file=sys.stderr)
                sys.exit(1)
            # Greedy generation: transformers on the export against clp-flow at the same weighting.
            # Greedy text only where the prompt leaves room for 10 new tokens in the context (the
            # prompt-conditioning prompt does not: its logits are compared above).
            n_new = 10
            if len(hf_ids) + n_new + 1 > config["n_positions"]:
                print(f"{label}: greedy comparison skipped (prompt of {len(hf_ids)} tokens, context {config['n_positions']})")
                continue
            gen_args = [binary, "generate", "--run-dir", str(rd), "--method", method, "--weights", wtext, *extra,
                        "--temperature", "0", "--max-new-tokens", str(n_new), "--json", DOC]
            ours_text = json.loads(run(gen_args).stdout)["texts"][0]
            with torch.no_grad():
                g = model.generate(torch.tensor([hf_ids]), attention_mask=torch.ones(1, len(hf_ids), dtype=torch.long),
                                   max_new_tokens=n_new, do_sample=False, eos_token_id=config["eos_token_id"],
                                   pad_token_id=config["eos_token_id"])
            new = [t for t in g[0, len(hf_ids):].tolist() if t not in (info["end_of_text_id"], info["separator_id"])]
            hf_text = tok.decode(new)
            if hf_text != ours_text:
                print(f"FAIL: {label}: greedy text differs: transformers {hf_text!r}, clp-flow {ours_text!r}", file=sys.stderr)
                sys.exit(1)
            print(f"{label}: greedy generation identical ({len(new)} tokens)")
        for method, w, kl in refused:
            extra = ["--kl", str(kl)] if kl is not None else []
            p = run([binary, "export", "--run-dir", str(rd), "--method", method, "--weights", ",".join(map(str, w)),
                     *extra, str(work / f"refused-{method}")], check=False)
            if p.returncode != 2 or "not one network" not in p.stderr:
                print(f"FAIL: export of {method} should be refused with exit 2: got {p.returncode}: {p.stderr}", file=sys.stderr)
                sys.exit(1)
            print(f"{name}:{method}: refused as expected: {p.stderr.strip()[:100]}…")
    print(f"export-hf: OK ({cases} exports, max |Δlogit| = {worst:.2e} ≤ {TOL})")


if __name__ == "__main__":
    main()
