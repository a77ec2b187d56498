"""Cross-check of the clp-flow GPT-2 engine against Hugging Face transformers.

1. A tiny random GPT2LMHeadModel (seeded) is saved with save_pretrained (safetensors); clp-flow
   loads it and prints logits, which must match PyTorch's (max abs diff < 1e-4). Tied and untied.
2. A clp-flow-initialised model is exported as a Hugging Face directory, loaded by transformers,
   and logits are compared the same way.
3. The engine's own checkpoint file is read with the `safetensors` package and compared with the
   exported tensors.
4. The weighted cross-entropy (negative, zero and ignored positions) and the gradient of every
   tensor match torch autograd.

Usage: model_hf_check.py CLP_FLOW_BINARY WORKDIR
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import GPT2Config, GPT2LMHeadModel

TOL = 1e-4


def engine_logits(binary, checkpoint, tokens):
    out = subprocess.run(
        [binary, "debug-logits", "--checkpoint", str(checkpoint), "--tokens", ",".join(map(str, tokens))],
        check=True, capture_output=True, text=True).stdout
    return np.array(json.loads(out)["logits"], dtype=np.float64)


def torch_logits(model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].double().numpy()


def compare(name, a, b):
    diff = float(np.max(np.abs(a - b)))
    print(f"{name}: max |Δlogit| = {diff:.3e} over {a.size} logits")
    if a.shape != b.shape or not diff < TOL:
        print(f"FAIL {name}: shapes {a.shape} vs {b.shape}, max diff {diff}", file=sys.stderr)
        sys.exit(1)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    tokens = [int(t) for t in rng.integers(0, 97, size=12)]

    # 1. transformers -> clp-flow
    for tied in (True, False):
        torch.manual_seed(7 if tied else 8)
        cfg = GPT2Config(vocab_size=97, n_positions=32, n_embd=24, n_layer=2, n_head=3,
                         activation_function="gelu_new", tie_word_embeddings=tied,
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
        model = GPT2LMHeadModel(cfg).eval()
        with torch.no_grad():  # larger, non-trivial values everywhere (biases and norms too)
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        d = work / f"hf-{'tied' if tied else 'untied'}"
        model.save_pretrained(d, safe_serialization=True)
        compare(f"transformers→clp-flow ({'tied' if tied else 'untied'})",
                engine_logits(binary, d, tokens), torch_logits(model, tokens))

    # 2. clp-flow -> transformers
    for tied in (True, False):
        d = work / f"clp-{'tied' if tied else 'untied'}"
        engine_file = work / f"clp-{'tied' if tied else 'untied'}.safetensors"
        args = [binary, "debug-init-model", "--vocab-size", "97", "--context", "32", "--layers", "2",
                "--heads", "3", "--d-model", "24", "--seed", "5", "--out", str(d),
                "--engine-checkpoint", str(engine_file)]
        if not tied:
            args.append("--untied")
        subprocess.run(args, check=True)
        model = GPT2LMHeadModel.from_pretrained(d).eval()
        if model.config.tie_word_embeddings != tied:
            print("FAIL: tie_word_embeddings not preserved", file=sys.stderr)
            sys.exit(1)
        compare(f"clp-flow→transformers ({'tied' if tied else 'untied'})",
                engine_logits(binary, d, tokens), torch_logits(model, tokens))

        # 3. the engine checkpoint read with the safetensors package
        tensors = load_file(str(engine_file))
        state = model.state_dict()
        for name, value in tensors.items():
            ref = state[name].numpy()
            if value.dtype != np.float32 or value.shape != ref.shape or not np.array_equal(value, ref):
                print(f"FAIL: engine checkpoint tensor {name} differs", file=sys.stderr)
                sys.exit(1)
        print(f"engine checkpoint ({'tied' if tied else 'untied'}): {len(tensors)} tensors read by safetensors, identical")
    # 4. weighted loss and every gradient against torch autograd (tied and untied)
    for tied in (True, False):
        d = work / f"hf-{'tied' if tied else 'untied'}"
        model = GPT2LMHeadModel.from_pretrained(d).eval()
        targets = [int(t) for t in rng.integers(0, 97, size=len(tokens))]
        targets[3] = -1
        weights = [float(w) for w in np.round(rng.normal(size=len(tokens)), 3)]
        weights[5] = 0.0
        out = subprocess.run(
            [binary, "debug-logits", "--checkpoint", str(d), "--tokens", ",".join(map(str, tokens)),
             "--targets=" + ",".join(map(str, targets)), "--weights=" + ",".join(map(str, weights))],
            check=True, capture_output=True, text=True).stdout
        eng = json.loads(out)
        model.zero_grad()
        logits = model(torch.tensor([tokens])).logits[0]
        tgt = torch.tensor(targets)
        nll = torch.nn.functional.cross_entropy(logits, tgt.clamp(min=0), reduction="none")
        w = torch.tensor(weights) * (tgt >= 0)
        loss = (w * nll).sum()
        loss.backward()
        if abs(loss.item() - eng["loss"]) > 1e-4 * max(1.0, abs(loss.item())):
            print(f"FAIL: loss {eng['loss']} vs torch {loss.item()}", file=sys.stderr)
            sys.exit(1)
        params = dict(model.named_parameters())
        worst = 0.0
        for name, g in eng["grads"].items():
            ref = params[name].grad.reshape(-1).double().numpy()
            diff = float(np.max(np.abs(np.array(g, dtype=np.float64) - ref)))
            scale = max(1.0, float(np.max(np.abs(ref))))
            worst = max(worst, diff / scale)
            if diff > 1e-4 * scale:
                print(f"FAIL: gradient of {name} differs by {diff}", file=sys.stderr)
                sys.exit(1)
        print(f"gradients ({'tied' if tied else 'untied'}): loss {eng['loss']:.6f} vs {loss.item():.6f}, "
              f"{len(eng['grads'])} tensors, max scaled |Δgrad| = {worst:.3e}")
    print("model-hf: OK")


if __name__ == "__main__":
    main()
