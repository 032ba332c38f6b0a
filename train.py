"""Train the shipped default model (models/default) from the bundled data in data/.

    python train.py [--out models/default]

Heads: topic, screening, department and urgent. Training rows: the routing annotations, the topic-labelled
messages not annotated for routing, and the topic-labelled titles; the unlabelled messages only extend the
vocabulary. Validation metrics are printed and stored in the model's metadata.json.
"""

from __future__ import annotations

import argparse

from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import BUNDLED, catalogue_path, message_docs, training_frame, unlabelled_texts
from classifier.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="models/default")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    frame = training_frame()
    vocabulary = message_docs(unlabelled_texts())
    result = train(
        frame,
        args.out,
        TrainConfig(seed=args.seed),
        vocabulary_docs=vocabulary,
        catalogue=Catalogue.load(catalogue_path()),
        data_files=[BUNDLED[k] for k in ("routing", "topic", "titles", "unlabelled")],
        progress=print,
        record={"source": "bundled"},
    )
    print(f"model written to {result.path}: {result.rows} rows, heads {result.heads}")
    for head, m in result.metrics.items():
        print(f"  {head}: accuracy {m['accuracy']} macro-F1 {m['macro_f1']} top-3 {m['top3_accuracy']} "
              f"review threshold {result.thresholds.get(head)}")


if __name__ == "__main__":
    main()
