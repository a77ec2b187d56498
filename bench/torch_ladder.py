"""PyTorch side of the size ladder (bench/run.sh): one configuration per process, so that the peak
resident set size (getrusage ru_maxrss) printed at the end belongs to that configuration alone.

Implementations:
  hf        Hugging Face GPT2LMHeadModel (gelu_new, no dropout)
  lean      a small GPT-2 module written for this benchmark: pre-LN blocks, one fused qkv Linear,
            F.scaled_dot_product_attention (is_causal), GELU (tanh), head tied to the token
            embedding, its own preallocated KV cache for sampling
  compiled  the lean module under torch.compile (training step only)

Modes:
  train     forward + cross-entropy + backward + gradient clipping (norm 1) + AdamW, on [B, T]
  gen       sampling (temperature 1, no top-k/top-p) of --new-tokens after a --prompt-token prompt,
            batch --gen-batch; hf uses model.generate, lean its own KV-cache loop
  rl        one REINFORCE step as the engine's RLTrainer does it (lean only): for each of --rl-prompts
            prompts, --rl-samples samples from the KV cache, a synthetic reward, teacher-forced
            log-probabilities under a frozen copy (pi_ref), the policy forward whose log-probabilities
            give the returns (reward - alpha * log-ratio) and leave-one-out advantages, a backward of
            the per-token advantage-weighted negative log-likelihood; then clipping and AdamW.

Prints one JSON object per line.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc_proj = nn.Linear(4 * d, d)

    def forward(self, x, cache=None, pos=0):
        B, T, C = x.shape
        H = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            kc, vc = cache
            kc[:B, :, pos:pos + T] = k
            vc[:B, :, pos:pos + T] = v
            if pos == 0:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:  # one new position attends to everything cached so far
                y = F.scaled_dot_product_attention(q, kc[:B, :, :pos + T], vc[:B, :, :pos + T])
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class LeanGPT(nn.Module):
    def __init__(self, vocab, context, layers, heads, d):
        super().__init__()
        self.context, self.heads, self.d = context, heads, d
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.lnf = nn.LayerNorm(d)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, caches=None, pos=0):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(pos, pos + T))
        for i, blk in enumerate(self.blocks):
            x = blk(x, None if caches is None else caches[i], pos)
        return F.linear(self.lnf(x), self.wte.weight)  # head tied to the token embedding

    def new_cache(self, batch, length):
        hd = self.d // self.heads
        return [(torch.empty(batch, self.heads, length, hd), torch.empty(batch, self.heads, length, hd))
                for _ in self.blocks]

    @torch.no_grad()
    def sample(self, prompts, new_tokens, generator):
        """Sampling at temperature 1 with the KV cache; returns the new tokens [B, new_tokens]."""
        B, P = prompts.shape
        caches = self.new_cache(B, P + new_tokens)
        logits = self(prompts, caches, 0)[:, -1]
        out = torch.empty(B, new_tokens, dtype=torch.long)
        for i in range(new_tokens):
            nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
            out[:, i] = nxt[:, 0]
            if i + 1 < new_tokens:
                logits = self(nxt, caches, P + i)[:, -1]
        return out


def hf_model(vocab, context, layers, heads, d):
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=vocab, n_positions=context, n_embd=d, n_layer=layers, n_head=heads,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return GPT2LMHeadModel(cfg)


def make_optimizer(model, lr, wd):
    # the fastest CPU AdamW available (fused since torch 2.4, else the foreach one)
    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd, fused=True), "fused"
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd, foreach=True), "foreach"


def forward_logits(model, impl, x):
    return model(x).logits if impl == "hf" else model(x)


def synthetic_reward(tokens, vocab):
    """A cheap deterministic reward of a response: the fraction of its tokens in the lower half of
    the vocabulary (the engine benchmark uses the same one)."""
    return float((tokens < vocab // 2).float().mean())


def bench_train(a, L, D, H, V, P):
    model = (hf_model(V, P, L, H, D) if a.impl == "hf" else LeanGPT(V, P, L, H, D)).train()
    opt, kind = make_optimizer(model, 3e-4, 0.01)
    fwd = torch.compile(model) if a.impl == "compiled" else model
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, V, (a.batch, a.seq), generator=g)
    y = torch.randint(0, V, (a.batch, a.seq), generator=g)
    times, cpu = [], []
    t_first = None
    for i in range(a.warmup + a.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = forward_logits(fwd, a.impl, x)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if i == 0:
            t_first = dt
        if i >= a.warmup:
            times.append(dt)
            cpu.append(time.process_time() - c0)
    return {"ms_per_step": median(times) * 1000, "cpu_ms_per_step": median(cpu) * 1000, "first_step_s": t_first, "optimizer": kind,
            "final_loss": loss.item(), "params": sum(p.numel() for p in model.parameters())}


def bench_gen(a, L, D, H, V, P):
    model = (hf_model(V, P, L, H, D) if a.impl == "hf" else LeanGPT(V, P, L, H, D)).eval()
    gb = a.gen_batch
    g = torch.Generator().manual_seed(3)
    prompts = torch.randint(1, V, (gb, a.prompt), generator=g)
    if a.impl == "hf":
        kw = dict(do_sample=True, max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens, top_k=0, top_p=1.0,
                  use_cache=True, pad_token_id=0, attention_mask=torch.ones_like(prompts))
        run = lambda: model.generate(prompts, **kw)[:, a.prompt:]
    else:
        sg = torch.Generator().manual_seed(4)
        run = lambda: model.sample(prompts, a.new_tokens, sg)
    with torch.no_grad():
        for _ in range(a.warmup):
            run()
        ts, cpu = [], []
        for _ in range(a.steps):
            c0 = time.process_time()
            t0 = time.perf_counter()
            out = run()
            ts.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    assert tuple(out.shape) == (gb, a.new_tokens), out.shape
    t = median(ts)
    return {"batch": gb, "seconds": t, "tokens_per_s": gb * a.new_tokens / t, "cpu_seconds": median(cpu)}


def seq_logprobs(logits, seq, P):
    """log p of each response token (positions P-1 .. T-2 predict tokens P .. T-1): [k, R]."""
    lp = torch.log_softmax(logits[:, P - 1:-1], dim=-1)
    return lp.gather(2, seq[:, P:].unsqueeze(2)).squeeze(2)


def bench_rl(a, L, D, H, V, P):
    policy = LeanGPT(V, P, L, H, D).train()
    reference = LeanGPT(V, P, L, H, D)
    reference.load_state_dict(policy.state_dict())
    reference.eval().requires_grad_(False)
    opt, kind = make_optimizer(policy, 1e-5, 0.0)
    g = torch.Generator().manual_seed(5)
    prompts = torch.randint(0, V, (a.rl_prompts, a.prompt), generator=g)
    k, nP, alpha = a.rl_samples, a.rl_prompts, 0.1
    times, cpu, parts = [], [], {"sample": [], "reference": [], "policy": [], "update": []}
    for step in range(a.warmup + a.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        acc = {"sample": 0.0, "reference": 0.0, "policy": 0.0}
        for p in range(nP):
            s0 = time.perf_counter()
            prompt = prompts[p:p + 1].expand(k, a.prompt)
            resp = policy.sample(prompt, a.new_tokens, g)
            reward = [synthetic_reward(resp[j], V) for j in range(k)]
            seq = torch.cat([prompt, resp], dim=1)
            s1 = time.perf_counter()
            with torch.no_grad():
                ref_total = seq_logprobs(reference(seq), seq, a.prompt).sum(1).double()
            s2 = time.perf_counter()
            tok = seq_logprobs(policy(seq), seq, a.prompt)
            pol_total = tok.detach().sum(1).double()
            ret = torch.tensor(reward, dtype=torch.float64) - alpha * (pol_total - ref_total)
            adv = ret - (ret.sum() - ret) / (k - 1)  # leave-one-out baseline
            w = (adv / (nP * k)).float()
            loss = -(tok * w.unsqueeze(1)).sum()
            loss.backward()
            s3 = time.perf_counter()
            acc["sample"] += s1 - s0; acc["reference"] += s2 - s1; acc["policy"] += s3 - s2
        u0 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        t1 = time.perf_counter()
        if step >= a.warmup:
            times.append(t1 - t0)
            cpu.append(time.process_time() - c0)
            for key in acc:
                parts[key].append(acc[key])
            parts["update"].append(t1 - u0)
    return {"ms_per_step": median(times) * 1000, "cpu_ms_per_step": median(cpu) * 1000, "optimizer": kind,
            **{f"{key}_ms": median(v) * 1000 for key, v in parts.items()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=["hf", "lean", "compiled"], required=True)
    ap.add_argument("--mode", choices=["train", "gen", "rl"], required=True)
    ap.add_argument("--shape", default="2,128,4,256,64", help="layers,d_model,heads,vocab,context")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--gen-batch", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=56)
    ap.add_argument("--rl-prompts", type=int, default=8)
    ap.add_argument("--rl-samples", type=int, default=4)
    a = ap.parse_args()
    L, D, H, V, P = (int(s) for s in a.shape.split(","))
    if a.mode == "rl" and a.impl != "lean":
        ap.error("--mode rl runs the lean module only")
    if a.mode == "gen" and a.impl == "compiled":
        ap.error("--mode gen runs hf or lean")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    r = {"train": bench_train, "gen": bench_gen, "rl": bench_rl}[a.mode](a, L, D, H, V, P)
    r.update({"side": "pytorch", "impl": a.impl, "mode": a.mode, "shape": a.shape, "B": a.batch, "T": a.seq,
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
