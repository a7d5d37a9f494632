#!/usr/bin/env python3
"""Builds resources/data/tinystories-next-sentence.jsonl, the small multiple-choice
task Tailor ships (#16): for a paragraph of a TinyStories text, the first k
sentences are the context and the model must pick the true next sentence among
four (the other three are sentences of other paragraphs, of about the same
length, so that a choice's length says nothing). Reproducible: fixed seed,
Python's random module only.

    python3 scripts/build_story_task.py [TEXT] [OUT] [--items N] [--seed S]
"""
import json
import random
import re
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(zip(sys.argv[1::1], sys.argv[2::1]))
    text = args[0] if args else "resources/data/tinystories-valid-99.txt"
    out = args[1] if len(args) > 1 else "resources/data/tinystories-next-sentence.jsonl"
    items = int(opts.get("--items", 200))
    rng = random.Random(int(opts.get("--seed", 20261129)))
    paragraphs = []
    for line in open(text, encoding="utf-8"):
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", line.strip()) if s.strip()]
        if len(sentences) >= 3:
            paragraphs.append(sentences)
    pool = [(i, s) for i, p in enumerate(paragraphs) for s in p]
    rows = []
    for i in rng.sample(range(len(paragraphs)), min(items, len(paragraphs))):
        p = paragraphs[i]
        k = rng.randint(2, len(p) - 1)
        distractors = []
        tries = 0
        while len(distractors) < 3:
            j, s = rng.choice(pool)
            tries += 1
            close = abs(len(s) - len(p[k])) <= max(6, len(p[k]) // 5) or tries > 2000
            if close and j != i and s != p[k] and s not in distractors:
                distractors.append(s)
        label = rng.randrange(4)
        choices = distractors[:label] + [p[k]] + distractors[label:]
        rows.append({"context": " ".join(p[:k]), "choices": [" " + c for c in choices], "label": label})
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} items from {len(paragraphs)} paragraphs of {text} -> {out}")


if __name__ == "__main__":
    main()
