"""Quality of the linear model on held-out splits of the bundled data.

    python benchmarks/quality.py [--seeds 0 1 2]

For each seed: a stratified 20% of the topic-labelled messages (by topic) and a stratified 20% of the routing
annotations (by department) are held out; a model is trained exactly as ``train.py`` does on everything else
(routing annotations, topic messages and topic titles; messages of either test split are excluded everywhere),
then scored with the full router (rules and consistency included).

Targets: topic macro-F1 >= 0.92; department top-1 >= 0.82 and top-3 >= 0.95; screening macro-F1 >= 0.60.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from sklearn.model_selection import train_test_split

from classifier.artifact import load_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import catalogue_path, load_bundled, message_docs, training_frame, unlabelled_texts
from classifier.evaluate import evaluate
from classifier.training import train


def run(seed: int) -> dict:
    topic, routing = load_bundled("topic"), load_bundled("routing")
    _, topic_test = train_test_split(topic, test_size=0.2, stratify=topic["topic"], random_state=seed)
    _, routing_test = train_test_split(routing, test_size=0.2, stratify=routing["department"], random_state=seed)
    held = set(topic_test["id"]) | set(routing_test["id"])
    frame = training_frame()
    frame = frame[~frame["id"].isin(held)]
    unlabelled = unlabelled_texts()
    unlabelled = unlabelled[~unlabelled["id"].isin(held)]
    vocabulary = message_docs(unlabelled)
    with tempfile.TemporaryDirectory() as folder:
        train(frame, f"{folder}/m", TrainConfig(seed=seed), vocabulary_docs=vocabulary,
              catalogue=Catalogue.load(catalogue_path()))  # fmt: skip
        model = load_model(f"{folder}/m")
        topic_scores = evaluate(model, topic_test[["id", "channel", "title", "text", "time", "topic"]])["heads"]["topic"]
        routing_scores = evaluate(model, routing_test.drop(columns=["topic", "confidence"]))["heads"]
    return {
        "topic macro-F1": topic_scores["macro_f1"],
        "department top-1": routing_scores["department"]["accuracy"],
        "department top-3": routing_scores["department"]["top3_accuracy"],
        "screening macro-F1": routing_scores["screening"]["macro_f1"],
        "urgent macro-F1": routing_scores["urgent"]["macro_f1"],
    }


TARGETS = {"topic macro-F1": 0.92, "department top-1": 0.82, "department top-3": 0.95, "screening macro-F1": 0.60}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    results = [run(seed) for seed in args.seeds]
    print(f"{'metric':<22}" + "".join(f"seed {s:<5}" for s in args.seeds) + "mean    target")
    for metric in results[0]:
        values = [r[metric] for r in results]
        target = TARGETS.get(metric)
        verdict = "" if target is None else (f">= {target} met" if np.mean(values) >= target else f">= {target} NOT met")
        print(f"{metric:<22}" + "".join(f"{v:<10.4f}" for v in values) + f"{np.mean(values):<8.4f}{verdict}")


if __name__ == "__main__":
    main()
