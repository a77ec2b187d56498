"""PyTorch reference for the engine benchmarks: the same GPT-2 model (2 layers, d_model 128,
4 heads, MLP 4x, vocab 256, context 64), a training step at B=16, T=64 with AdamW, and generation
with a KV cache (Hugging Face generate, sampling). Prints one JSON object per line."""
import argparse
import json
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--gen-batch", type=int, default=16)
    ap.add_argument("--only", choices=["train", "gen"], default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    cfg = GPT2Config(vocab_size=256, n_positions=64, n_embd=128, n_layer=2, n_head=4,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=0, eos_token_id=0, pad_token_id=0)
    B, T = a.batch, 64
    if a.only in (None, "train"):
        model = GPT2LMHeadModel(cfg).train()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
        g = torch.Generator().manual_seed(2)
        x = torch.randint(0, 256, (B, T), generator=g)
        y = torch.randint(0, 256, (B, T), generator=g)
        times = []
        for i in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            logits = model(x).logits
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if i >= a.warmup:
                times.append(time.perf_counter() - t0)
        print(json.dumps({"bench": "train_step", "impl": "pytorch", "ms_per_step": median(times) * 1000,
                          "threads": torch.get_num_threads(), "torch": torch.__version__,
                          "params": sum(p.numel() for p in model.parameters()), "final_loss": loss.item()}), flush=True)
    if a.only in (None, "gen"):
        model = GPT2LMHeadModel(cfg).eval()
        for gb in (1, a.gen_batch):
            g = torch.Generator().manual_seed(3)
            prompts = torch.randint(1, 256, (gb, 8), generator=g)
            kw = dict(do_sample=True, max_new_tokens=56, min_new_tokens=56, top_k=0, top_p=1.0,
                      use_cache=True, pad_token_id=0, attention_mask=torch.ones_like(prompts))
            with torch.no_grad():
                model.generate(prompts, **kw)
                ts = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    out = model.generate(prompts, **kw)
                    ts.append(time.perf_counter() - t0)
            assert out.shape[1] == 64
            t = median(ts)
            print(json.dumps({"bench": "generate", "impl": "pytorch", "batch": gb, "prompt": 8, "new_tokens": 56,
                              "seconds": t, "tokens_per_s": gb * 56 / t}), flush=True)


if __name__ == "__main__":
    main()
