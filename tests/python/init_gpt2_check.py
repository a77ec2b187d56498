"""End-to-end check of `model: {init: DIR}` with a GPT-2-family checkpoint made by transformers.

1. A GPT-2-style byte-level BPE tokenizer is trained with Hugging Face `tokenizers` and
   `<|endoftext|>` is added afterwards, so it is the LAST id (as in GPT-2, where it is 50256); a
   tiny random GPT2LMHeadModel (seeded) with that vocabulary size is saved with save_pretrained.
   The directory holds model.safetensors, config.json, vocab.json, merges.txt (and the
   transformers tokenizer files).
2. A small synthetic workflow with `model: {init: DIR}` and one reward pair runs with
   `clp-flow run`; it must complete.
3. The reference's supervised loss must fall (mean of the last 5 logged losses below the mean of
   the first 5).
4. The exported reference (artifacts/<key>/model) must hold the extended vocabulary
   (`<|summary|>` appended as id V, `<|endoftext|>` still V-1, vocab_size V+1), encode ordinary
   text exactly like the original tokenizer when loaded by transformers, load with
   GPT2LMHeadModel.from_pretrained, and give the logits of `clp-flow debug-logits` (max |Δ| < 1e-4).

Usage: init_gpt2_check.py CLP_FLOW_BINARY WORKDIR
"""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()

TOL = 1e-4
SEED = 20261129


def fail(message):
    print(f"FAIL init-gpt2: {message}", file=sys.stderr)
    sys.exit(1)


def corpus(rng, lines):
    """Made-up consonant–vowel words, like clp-flow's synthetic task, plus some English."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(80)]
    out = ["The quick brown fox jumps over the lazy dog, doesn't it? 12 345."]
    for _ in range(lines):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(6, 20))))
    return out


def make_checkpoint(init):
    rng = random.Random(SEED)
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(corpus(rng, 400), vocab_size=420, min_frequency=2, special_tokens=[],
                            show_progress=False)
    base = tok.get_vocab_size()
    tok.add_special_tokens(["<|endoftext|>"])
    vocab = tok.get_vocab(with_added_tokens=True)
    if vocab["<|endoftext|>"] != base or len(vocab) != base + 1:
        fail(f"<|endoftext|> should be the last id {base}, got {vocab['<|endoftext|>']}")
    init.mkdir(parents=True, exist_ok=True)
    # transformers writes tokenizer.json; GPT-2's own files are vocab.json (with <|endoftext|>)
    # and merges.txt, which is what clp-flow reads.
    GPT2TokenizerFast(tokenizer_object=tok._tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                      unk_token="<|endoftext|>").save_pretrained(init)
    tok.save_model(str(init))  # merges.txt (and vocab.json without the added token)
    (init / "vocab.json").write_text(json.dumps(dict(sorted(vocab.items(), key=lambda kv: kv[1])), ensure_ascii=False))

    torch.manual_seed(SEED % 2**31)
    cfg = GPT2Config(vocab_size=base + 1, n_positions=96, n_embd=32, n_layer=2, n_head=2,
                     activation_function="gelu_new", tie_word_embeddings=True,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=base, eos_token_id=base)
    GPT2LMHeadModel(cfg).eval().save_pretrained(init, safe_serialization=True)
    for f in ("model.safetensors", "config.json", "vocab.json", "merges.txt"):
        if not (init / f).exists():
            fail(f"{f} missing from the init directory")
    return tok, base


WORKFLOW = """\
name: init-gpt2-check
seed: 11
data:
  source: synthetic
  synthetic_examples: 240
  valid: 16
  test: 8
  max_document_tokens: 48
  max_summary_tokens: 12
model:
  init: init
reference:
  steps: 40
  batch: 8
  learning_rate: 0.003
  warmup: 5
  eval_every: 20
rewards:
  - {name: rouge, kind: rouge1}
  - {name: short, kind: length, target: 3, tolerance: 2}
stages:
  - {steps: 2, batch: 2, samples: 2, max_new_tokens: 6}
weights:
  eval: {points_per_edge: 2}
evaluate:
  prompts: 4
  max_new_tokens: 6
  sample_prompts: 1
"""


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        fail(f"{' '.join(map(str, cmd))} exited {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def main():
    binary, work = sys.argv[1], Path(sys.argv[2]).resolve()
    if os.sep in binary:  # the workflow runs from WORKDIR
        binary = str(Path(binary).resolve())
    work.mkdir(parents=True, exist_ok=True)
    init = work / "init"
    tok, base = make_checkpoint(init)
    print(f"init checkpoint: vocabulary {base + 1} (<|endoftext|> = {base}), {init}")

    wf = work / "workflow.yaml"
    wf.write_text(WORKFLOW)
    run_dir = work / "run"
    run([binary, "run", str(wf), "--run-dir", str(run_dir), "--quiet"], cwd=work)

    models = sorted(run_dir.glob("artifacts/*/model"))
    if len(models) != 1:
        fail(f"expected one train-reference artifact with model/, found {[str(m) for m in models]}")
    model_dir = models[0]

    # 3. the supervised loss fell
    rows = json.loads(run([binary, "metrics", str(run_dir), "--format", "json"]))
    losses = [(r.get("training_step", r.get("trainingStep")), r["value"]) for r in rows
              if r.get("name") == "loss" and "reference" in r.get("step", "")]
    losses = [v for _, v in sorted(losses)]
    if len(losses) < 10:
        fail(f"expected 40 reference losses in the metrics, got {len(losses)}")
    first, last = float(np.mean(losses[:5])), float(np.mean(losses[-5:]))
    print(f"reference loss: first 5 steps {first:.3f} → last 5 steps {last:.3f}")
    if not last < first:
        fail(f"the reference loss did not fall ({first:.4f} → {last:.4f})")

    # the step said where the shape and the separator came from
    events = [json.loads(l) for l in (model_dir.parent / "events.jsonl").read_text().splitlines() if l.strip()]
    said = " | ".join(e.get("text", "") for e in events if e.get("type") == "message")
    for needle in ("model.init: shape from the checkpoint", f"added as id {base + 1}"):
        if needle not in said:
            fail(f"the train-reference step did not say {needle!r}; its messages: {said}")

    # 4a. extended vocabulary and shape
    vocab = json.loads((model_dir / "vocab.json").read_text())
    cfg = json.loads((model_dir / "config.json").read_text())
    if vocab.get("<|summary|>") != base + 1 or vocab.get("<|endoftext|>") != base or len(vocab) != base + 2:
        fail(f"exported vocabulary: <|summary|> = {vocab.get('<|summary|>')}, <|endoftext|> = "
             f"{vocab.get('<|endoftext|>')}, {len(vocab)} ids (expected {base + 1}, {base}, {base + 2})")
    if cfg["vocab_size"] != base + 2 or cfg["n_embd"] != 32 or cfg["n_layer"] != 2 or cfg["n_positions"] != 96:
        fail(f"exported config does not keep the checkpoint's shape plus one id: {cfg}")
    if cfg.get("eos_token_id") != base:
        fail(f"eos_token_id {cfg.get('eos_token_id')} != {base}")

    # 4b. the extended tokenizer encodes ordinary text like the original one
    hf = GPT2TokenizerFast.from_pretrained(model_dir)
    texts = corpus(random.Random(SEED + 1), 20) + ["  spaces\tand\nnewlines ", "naïve café ☕"]
    for t in texts:
        a, b = hf.encode(t), tok.encode(t).ids
        if a != b:
            fail(f"extended tokenizer encodes {t!r} as {a}, the original as {b}")

    # 4c. transformers loads the checkpoint and agrees with clp-flow's logits
    model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
    ids = tok.encode(texts[1]).ids[:20] + [base + 1] + tok.encode(texts[2]).ids[:8] + [base]
    out = json.loads(run([binary, "debug-logits", "--checkpoint", str(model_dir), "--tokens", ",".join(map(str, ids))]))
    engine = np.array(out["logits"], dtype=np.float64)
    with torch.no_grad():
        reference = model(torch.tensor([ids])).logits[0].double().numpy()
    if engine.shape != reference.shape:
        fail(f"logit shapes differ: clp-flow {engine.shape}, transformers {reference.shape}")
    diff = float(np.max(np.abs(engine - reference)))
    print(f"exported reference: max |Δlogit| = {diff:.3e} over {engine.size} logits")
    if not diff < TOL:
        fail(f"clp-flow and transformers logits differ by {diff}")
    print("init-gpt2: OK")


if __name__ == "__main__":
    main()
