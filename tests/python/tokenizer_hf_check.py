"""Cross-check clp-flow's byte-level BPE against Hugging Face.

Trains a vocabulary with `clp-flow debug-tokenize`, loads the written vocab.json/merges.txt with
`tokenizers.ByteLevelBPETokenizer`, `transformers.GPT2TokenizerFast.from_pretrained(dir)` and a
small pure-Python GPT-2 encoder written here on top of the `regex` module (GPT-2's own
pre-tokenisation pattern and ranked merges), and requires identical ids for every test string.

Usage: tokenizer_hf_check.py CLP_FLOW_BINARY
"""
import glob
import json
import os
import random
import subprocess
import sys
import tempfile

import regex
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2TokenizerFast

SEED = 20240601

# Scalar ranges assigned long ago, so every Unicode database in play agrees on their categories.
POOLS = [
    (0x20, 0x7E), (0x20, 0x7E), (0x61, 0x7A), (0x00, 0x1F), (0x7F, 0xFF), (0x300, 0x36F),
    (0x370, 0x3FF), (0x400, 0x4FF), (0x4E00, 0x9FA5), (0x1F600, 0x1F64F), (0xAC00, 0xD7A3),
    (0x0621, 0x064A), (0x0905, 0x0939), (0x2000, 0x206F), (0x3040, 0x30FF), (0xFF01, 0xFF5E),
]
EXTRAS = ["\u200d", "\ufe0f", "\u00a0", "\u3000", "\u2028", "'s", "'ll", "'re", "'ve", "'m", "'d", "'t",
          " ", "  ", "   ", "\n", "\r\n", "\t", "\n\n", " '", "e\u0301", "\U0001F469\u200d\U0001F469\u200d\U0001F467",
          "3.14", "1,000", "don't", "I'M", "x--y", "...", "  \n  "]


def random_text(rng, max_len):
    out = []
    for _ in range(rng.randint(0, max_len)):
        if rng.random() < 0.2:
            out.append(rng.choice(EXTRAS))
            continue
        lo, hi = rng.choice(POOLS)
        v = rng.randint(lo, hi)
        if 0xD800 <= v <= 0xDFFF:
            v = 0x41
        out.append(chr(v))
    return "".join(out)


def english_lines():
    lines = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*"))[:12]:
        try:
            with open(path, encoding="utf-8") as f:
                lines.extend(l.rstrip("\n") for l in f if l.strip())
        except (UnicodeDecodeError, IsADirectoryError):
            pass
    if not lines:  # a fallback that still exercises merges
        lines = ["The quick brown fox jumps over the lazy dog's back, doesn't it? 123 456."] * 50
    return lines


GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_to_unicode():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


class ReferenceBPE:
    """GPT-2's encoding procedure: regex pieces, byte mapping, lowest-rank merge first."""

    def __init__(self, vocab_path, merges_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f]
        pairs = [tuple(l.split(" ")) for l in lines if l and not l.startswith("#version")]
        self.ranks = {p: i for i, p in enumerate(pairs)}
        self.b2u = byte_to_unicode()

    def bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            candidates = [(self.ranks.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, _ = min(candidates)
            if rank == float("inf"):
                break
            first, second = next((parts[i], parts[i + 1]) for r, i in candidates if r == rank)
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def encode(self, text):
        ids = []
        for piece in GPT2_PATTERN.findall(text):
            word = "".join(self.b2u[b] for b in piece.encode("utf-8"))
            ids.extend(self.vocab[t] for t in self.bpe(word))
        return ids


def run(binary, *args):
    p = subprocess.run([binary, "debug-tokenize", *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"clp-flow debug-tokenize {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def main():
    binary = sys.argv[1]
    rng = random.Random(SEED)
    english = english_lines()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = english + [random_text(rng, 40).replace("\n", " ").replace("\r", " ").replace("\u2028", " ")
                            for _ in range(300)]
        corpus_path = os.path.join(tmp, "corpus.txt")
        with open(corpus_path, "w", encoding="utf-8") as f:
            f.write("\n".join(corpus) + "\n")
        out_dir = os.path.join(tmp, "tok")
        run(binary, "--train", corpus_path, "--vocab-size", "1200", "--out", out_dir)
        vocab = os.path.join(out_dir, "vocab.json")
        merges = os.path.join(out_dir, "merges.txt")
        with open(vocab, encoding="utf-8") as f:
            n_vocab = len(json.load(f))

        strings = english[:400] + [random_text(rng, 80) for _ in range(1500)]
        strings += ["", " ", "  hello  world  ", "\n\nfoo\n", "it's   'quoted'  ", "tabs\tand\u00a0nbsp"]
        plain_path = os.path.join(tmp, "plain.jsonl")
        with open(plain_path, "w", encoding="utf-8") as f:
            for s in strings:
                f.write(json.dumps(s) + "\n")
        ours = [json.loads(l) for l in run(binary, "--load", out_dir, "--encode", plain_path).splitlines()]
        assert len(ours) == len(strings), f"expected {len(strings)} lines, got {len(ours)}"

        hf_fast = ByteLevelBPETokenizer(vocab, merges)
        gpt2_fast = GPT2TokenizerFast.from_pretrained(out_dir)
        reference = ReferenceBPE(vocab, merges)
        failures = 0
        for s, ids in zip(strings, ours):
            refs = {
                "tokenizers.ByteLevelBPETokenizer": hf_fast.encode(s).ids,
                "GPT2TokenizerFast": gpt2_fast.encode(s, add_special_tokens=False),
                "regex reference": reference.encode(s),
            }
            for name, ref in refs.items():
                if ref != ids:
                    failures += 1
                    if failures <= 5:
                        print(f"MISMATCH with {name} for {s!r}:\n  clp-flow {ids}\n  {name} {ref}", file=sys.stderr)

        # Special tokens recognised as whole strings (clp-flow --allow-special, HF added tokens).
        special_strings = [f"{random_text(rng, 20)}<|summary|>{random_text(rng, 10)}<|endoftext|>" for _ in range(200)]
        special_path = os.path.join(tmp, "special.jsonl")
        with open(special_path, "w", encoding="utf-8") as f:
            for s in special_strings:
                f.write(json.dumps(s) + "\n")
        ours_special = [json.loads(l) for l in
                        run(binary, "--load", out_dir, "--allow-special", "--encode", special_path).splitlines()]
        gpt2_fast.add_special_tokens({"additional_special_tokens": ["<|summary|>"]})
        for s, ids in zip(special_strings, ours_special):
            ref = gpt2_fast.encode(s, add_special_tokens=False)
            if ref != ids:
                failures += 1
                if failures <= 10:
                    print(f"MISMATCH (special) for {s!r}:\n  clp-flow {ids}\n  GPT2TokenizerFast {ref}", file=sys.stderr)

        total = len(strings) * 3 + len(special_strings)
        if failures:
            sys.exit(f"tokenizer-hf: {failures} of {total} comparisons differ")
        print(f"tokenizer-hf: vocabulary of {n_vocab} tokens; {total} encodings identical "
              f"({len(strings)} strings x (2 Hugging Face tokenizers + regex reference) + {len(special_strings)} with special tokens)")


if __name__ == "__main__":
    main()
