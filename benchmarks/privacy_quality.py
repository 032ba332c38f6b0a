"""Personal-data masking: precision and recall per kind on the team's corpus, speed on the bundled messages.

    python benchmarks/privacy_quality.py [--corpus tests/privacy/corpus.tsv] [--review 0]

Target: recall >= 0.98 for phone numbers (mobile and landline) and ID numbers. The corpus
(``tests/privacy/corpus.tsv``) holds hand-written lines with the personal data marked as ``[[kind:value]]`` and
look-alike lines (dates, amounts, house, case, order and service numbers, postcodes, placeholders the data masked
already, honorific words without a name …) marked ``neg:<what>``; a finding counts only with its exact span.
``--review N`` prints N random findings per kind in the bundled messages (title + text), to judge precision by hand.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections import Counter
from pathlib import Path

from classifier.data import load_bundled
from classifier.privacy import KINDS, find_pii, parse_marked, score

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "privacy" / "corpus.tsv"


def read_corpus(path: Path) -> list[tuple[str, str]]:
    """(group, marked text) per line; ``#`` lines are comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line and not line.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--review", type=int, default=0, help="Random findings per kind to print for review.")
    args = parser.parse_args()
    rows = read_corpus(args.corpus)
    groups = Counter(group.split(":")[0] for group, _ in rows)
    result = score(parse_marked(marked) for _, marked in rows)
    print(f"corpus: {groups['pos']} lines with {sum(r['expected'] for r in result.values())} marked spans, "
          f"{groups['neg']} look-alike lines")  # fmt: skip
    print(f"{'kind':<10} {'expected':>8} {'found':>6} {'precision':>9} {'recall':>7}")
    for kind in KINDS:
        r = result[kind]
        print(f"{kind:<10} {r['expected']:>8} {r['found']:>6} {r['precision']:>9.3f} {r['recall']:>7.3f}")
    phones = [result[k] for k in ("mobile", "landline")]
    found = sum(r["recall"] * r["expected"] for r in phones)
    print(f"phones (mobile + landline) recall {found / sum(r['expected'] for r in phones):.3f}, "
          f"ID numbers recall {result['id_number']['recall']:.3f} (target >= 0.98)")  # fmt: skip

    frames = [load_bundled(name) for name in ("unlabelled", "topic", "routing")]
    texts = list(dict.fromkeys(t for f in frames for t in (f["title"].fillna("") + " " + f["text"].fillna(""))))
    start = time.perf_counter()
    findings = [(text, f) for text in texts for f in find_pii(text)]
    seconds = time.perf_counter() - start
    counts = Counter(f.kind for _, f in findings)
    print(f"\nbundled messages: {len(texts):,} distinct, {seconds / len(texts) * 1e6:.0f} µs per message "
          f"({platform.machine()}, {platform.python_version()}); findings: {dict(counts)}")  # fmt: skip
    rng = random.Random(0)
    for kind in KINDS if args.review else ():
        of_kind = [(t, f) for t, f in findings if f.kind == kind]
        for text, f in rng.sample(of_kind, min(args.review, len(of_kind))):
            print(
                f"{kind:<10} {text[max(0, f.start - 10) : f.start]}<<{text[f.start : f.end]}>>{text[f.end : f.end + 6]}"
            )


if __name__ == "__main__":
    main()
