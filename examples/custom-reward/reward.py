#!/usr/bin/env python3
"""Readability reward for clp-flow's `command:` rewards.

Reads JSON Lines on stdin (one object per response with the keys prompt, document, response and
reference) and prints one number per line: the Flesch reading ease of the response divided by 100
and clipped to [0, 1] (higher = easier to read). An empty response scores 0.

    reading ease = 206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words)

Words are runs of letters (apostrophes inside words allowed); sentences are runs of text ended by
., ! or ? (at least one); syllables are groups of consecutive vowels (a e i o u y) in a word, minus
one for a final silent "e" when the word has more than one group, and at least one per word.
Use it in a workflow as (`command` runs in the directory of the workflow file, so a script path
is relative to that directory; this one is for a workflow next to this file, like workflow.yaml):

    rewards:
      - name: readability
        kind: command
        command: [python3, reward.py]

From a workflow in another directory, give the path from there (e.g. `../custom-reward/reward.py`
from examples/own-data/); `clp-flow validate` checks that the script exists.
"""
import json
import re
import sys

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
VOWELS = re.compile(r"[aeiouy]+")


def syllables(word):
    w = word.lower()
    groups = len(VOWELS.findall(w))
    if w.endswith("e") and not w.endswith("le") and groups > 1:
        groups -= 1
    return max(1, groups)


def readability(text):
    words = WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len([s for s in re.split(r"[.!?]+", text) if WORD.search(s)]))
    syl = sum(syllables(w) for w in words)
    ease = 206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syl / len(words))
    return min(1.0, max(0.0, ease / 100.0))


def main():
    out = []
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        out.append(f"{readability(item['response']):.6f}")
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
