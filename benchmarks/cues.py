"""How precise the screening cue groups (classifier/resources/cues.json) are, on the annotations and on the suite.

    python benchmarks/cues.py [--per-cue]

For each category's cue group: matched (messages with at least one cue of the group), precision (share of those
whose screening label is the category) and recall (share of the category's messages matched), on the 12,503
routing annotations (title + text) and on the behavioural suite (tests/behaviour/tickets.csv). ``--per-cue`` adds
the same per cue on the annotations, least precise first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from classifier.behaviour import read_tickets
from classifier.cues import bundled_lexicon
from classifier.data import load_bundled, message_docs
from classifier.text import normalize

SUITE = Path(__file__).resolve().parent.parent / "tests" / "behaviour" / "tickets.csv"


def group_table(name: str, counts: np.ndarray, labels: np.ndarray) -> None:
    lexicon = bundled_lexicon()
    hits = counts @ lexicon._membership > 0
    print(f"\n{name} ({len(labels)} messages)")
    print(f"{'category':<10}{'messages':>9}{'matched':>9}{'precision':>11}{'recall':>8}")
    for j, category in enumerate(lexicon.categories):
        matched, truth = hits[:, j], labels == category
        precision = f"{(truth & matched).sum() / matched.sum():.3f}" if matched.any() else ""
        recall = f"{(truth & matched).sum() / truth.sum():.3f}" if truth.any() else ""
        print(f"{category:<10}{int(truth.sum()):>9}{int(matched.sum()):>9}{precision:>11}{recall:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-cue", action="store_true")
    args = parser.parse_args()
    lexicon = bundled_lexicon()
    routing = load_bundled("routing")
    annotation_counts = lexicon.cue_counts(message_docs(routing))
    labels = routing["screening"].to_numpy()
    group_table("annotations", annotation_counts, labels)
    tickets = read_tickets(SUITE)
    group_table("behavioural suite", lexicon.cue_counts([normalize(t) for t in tickets["text"]]), tickets["screening"].to_numpy())
    if args.per_cue:
        print(f"\nper cue, annotations\n{'category':<10}{'cue':<14}{'matched':>8}{'precision':>11}")
        rows = []
        for j, (category, cue) in enumerate(lexicon.cues):
            matched = annotation_counts[:, j] > 0
            precision = (labels[matched] == category).mean() if matched.any() else float("nan")
            rows.append((category, cue, int(matched.sum()), precision))
        for category, cue, matched, precision in sorted(rows, key=lambda r: (r[0], np.nan_to_num(r[3], nan=2.0), -r[2])):
            shown = "" if np.isnan(precision) else f"{precision:.2f}"
            print(f"{category:<10}{cue:<14}{matched:>8}{shown:>11}")


if __name__ == "__main__":
    main()
