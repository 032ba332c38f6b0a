"""Quality of the linear model on held-out routing annotations: split by near-duplicate group and at random.

    python benchmarks/quality.py [--seeds 0 1 2] [--splits grouped random] [--threshold 0.8] [--json FILE]

Test rows, per seed: 20% of the routing annotations (12,503 messages; 5,981 of them also carry the organisers'
topic label), stratified by department.

* grouped: every bundled document (annotated messages, topic-labelled titles, unlabelled messages) is put in a
  near-duplicate group (``classifier.groups``: character 2–3-gram TF-IDF cosine >= 0.8, connected components);
  the test rows are the first fold of ``StratifiedGroupKFold(5, shuffle=True, random_state=seed)`` over the
  annotations, and no document of a test row's group is trained on or used for the vocabulary.
* random: ``train_test_split(test_size=0.2, stratify=department, random_state=seed)``, as this benchmark did
  before; only the test rows themselves are left out, so their near-copies may be trained on.

On the rest, a model is trained as ``train.py`` does (``classifier.training.train``, ``TrainConfig(seed=seed)``,
the catalogue, unlabelled messages for the vocabulary) and scored with the full router
(``classifier.evaluate.evaluate``: rules and consistency included). The baseline, on the same rows: scikit-learn
``TfidfVectorizer`` of jieba words (1–2-grams) and characters (1–3-grams), sublinear TF, min_df 2, and one
``LinearSVC`` per head, no rules.

Targets (grouped split, mean of 3 seeds): topic macro-F1 >= 0.92; department top-1 >= 0.82 and top-3 >= 0.95;
screening macro-F1 >= 0.60; department ECE <= 0.03; recall of urgent = 是 >= 0.90 (its cost, the share of
messages flagged 是, is printed beside it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedGroupKFold, train_test_split
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from classifier.artifact import load_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import catalogue_path, message_docs, training_frame, unlabelled_texts
from classifier.evaluate import evaluate, head_metrics, top_labels
from classifier.groups import copy_share, near_duplicate_groups
from classifier.text import tokenize

HEADS = ("topic", "screening", "department", "urgent")
TARGETS = {"topic macro-F1": 0.92, "department top-1": 0.82, "department top-3": 0.95, "screening macro-F1": 0.60,
           "urgent recall of 是": 0.90}
LOWER_IS_BETTER = {"department ECE": 0.03}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Data:
    """Every bundled document with its near-duplicate group."""

    def __init__(self, threshold: float):
        self.frame = training_frame()
        unlabelled = unlabelled_texts()
        self.unlabelled = unlabelled.assign(doc=message_docs(unlabelled))
        self.frame_docs = message_docs(self.frame)
        extra = ~self.unlabelled["id"].isin(self.frame["id"])
        started = time.perf_counter()
        groups = near_duplicate_groups(self.frame_docs + self.unlabelled["doc"][extra].tolist(), threshold)
        log(f"near-duplicate groups of {len(groups)} documents in {time.perf_counter() - started:.0f} s")
        self.frame_groups = groups[: len(self.frame)]
        by_id = dict(zip(self.frame["id"], self.frame_groups))
        extra_groups = iter(groups[len(self.frame) :])
        self.unlabelled_groups = np.array([by_id[i] if i in by_id else next(extra_groups) for i in self.unlabelled["id"]])
        self.annotated = np.flatnonzero(self.frame["department"].to_numpy() != "")
        annotated_groups = self.frame_groups[self.annotated]
        self.copies = {
            "documents": len(groups),
            "annotated messages": len(self.annotated),
            "annotated with a near-copy among all documents": float((np.bincount(groups)[annotated_groups] > 1).mean()),
            "annotated with a near-copy among the annotated": copy_share(annotated_groups),
        }

    def split(self, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Training rows and test rows of ``frame`` and the vocabulary documents, for one split."""
        departments = self.frame["department"].to_numpy()[self.annotated]
        if kind == "grouped":
            folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
            _, test = next(folds.split(self.annotated, departments, self.frame_groups[self.annotated]))
            test = self.annotated[test]
            held = np.isin(self.frame_groups, self.frame_groups[test])
            vocabulary = ~np.isin(self.unlabelled_groups, self.frame_groups[test])
        else:
            _, test = train_test_split(self.annotated, test_size=0.2, stratify=departments, random_state=seed)
            held = np.zeros(len(self.frame), dtype=bool)
            held[test] = True
            vocabulary = ~self.unlabelled["id"].isin(self.frame["id"].to_numpy()[test]).to_numpy()
        return np.flatnonzero(~held), np.sort(test), self.unlabelled["doc"][vocabulary].tolist()


def model_scores(data: Data, train_rows: np.ndarray, test_rows: np.ndarray, vocabulary: list[str], seed: int) -> dict:
    test = data.frame.iloc[test_rows]
    with tempfile.TemporaryDirectory() as folder:
        from classifier.training import train

        train(data.frame.iloc[train_rows], f"{folder}/m", TrainConfig(seed=seed), vocabulary_docs=vocabulary,
              catalogue=Catalogue.load(catalogue_path()))  # fmt: skip
        result = evaluate(load_model(f"{folder}/m"), test)
    heads = result["heads"]
    return {
        "topic macro-F1": heads["topic"]["macro_f1"],
        "department top-1": heads["department"]["accuracy"],
        "department top-3": heads["department"]["top3_accuracy"],
        "screening macro-F1": heads["screening"]["macro_f1"],
        "urgent macro-F1": heads["urgent"]["macro_f1"],
        "urgent recall of 是": heads["urgent"]["per_class"]["是"]["recall"],
        "urgent flagged share": urgent_share(heads["urgent"]),
        "department ECE": heads["department"]["ece"],
        "screening ECE": heads["screening"]["ece"],
        "auto-routed share": result["review"]["model"]["auto_routed"],
        "auto-routed precision": result["review"]["model"]["precision"],
    }


def urgent_share(metrics: dict) -> float:
    """Share of the test rows the router flagged urgent = 是 (column 是 of the confusion matrix)."""
    column = metrics["labels"].index("是")
    return round(sum(row[column] for row in metrics["confusion"]) / metrics["n"], 4)


def baseline_scores(data: Data, train_rows: np.ndarray, test_rows: np.ndarray) -> dict:
    """Plain TF-IDF + LinearSVC per head on the same rows (no rules, no calibration)."""
    vectorizer = FeatureUnion([
        ("word", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)),
    ])  # fmt: skip
    docs = np.array(data.frame_docs, dtype=object)
    train_matrix = vectorizer.fit_transform(docs[train_rows])
    test_matrix = vectorizer.transform(docs[test_rows])
    scores = {}
    for head in HEADS:
        gold_train = data.frame[head].to_numpy()[train_rows]
        gold_test = data.frame[head].to_numpy()[test_rows]
        fit_rows, test_labelled = np.flatnonzero(gold_train != ""), np.flatnonzero(gold_test != "")
        classifier = LinearSVC().fit(train_matrix[fit_rows], gold_train[fit_rows])
        decision = classifier.decision_function(test_matrix[test_labelled])
        if decision.ndim == 1:
            decision = np.column_stack([-decision, decision])
        top3 = top_labels(decision, list(classifier.classes_))
        scores[head] = head_metrics(gold_test[test_labelled], [row[0] for row in top3], top3)
    return {
        "topic macro-F1": scores["topic"]["macro_f1"],
        "department top-1": scores["department"]["accuracy"],
        "department top-3": scores["department"]["top3_accuracy"],
        "screening macro-F1": scores["screening"]["macro_f1"],
        "urgent macro-F1": scores["urgent"]["macro_f1"],
    }


def table(title: str, results: list[dict], seeds: list[int]) -> str:
    lines = [title, f"{'metric':<24}" + "".join(f"seed {s:<5}" for s in seeds) + "mean    target"]
    for metric in results[0]:
        values = [r[metric] for r in results]
        mean = float(np.mean(values))
        verdict = ""
        if metric in TARGETS:
            verdict = f">= {TARGETS[metric]} " + ("met" if mean >= TARGETS[metric] else "NOT met")
        elif metric in LOWER_IS_BETTER:
            verdict = f"<= {LOWER_IS_BETTER[metric]} " + ("met" if mean <= LOWER_IS_BETTER[metric] else "NOT met")
        lines.append(f"{metric:<24}" + "".join(f"{v:<10.4f}" for v in values) + f"{mean:<8.4f}{verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--splits", nargs="+", choices=["grouped", "random"], default=["grouped", "random"])
    parser.add_argument("--threshold", type=float, default=0.8, help="cosine threshold of near-duplicate groups")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    args = parser.parse_args()
    data = Data(args.threshold)
    print(f"near-duplicate groups (character 2-3-gram TF-IDF cosine >= {args.threshold}):")
    for name, value in data.copies.items():
        print(f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}")
    figures: dict = {"copies": data.copies}
    for kind in args.splits:
        ours, plain = [], []
        for seed in args.seeds:
            train_rows, test_rows, vocabulary = data.split(kind, seed)
            log(f"{kind} seed {seed}: {len(train_rows)} training rows, {len(test_rows)} test rows")
            ours.append(model_scores(data, train_rows, test_rows, vocabulary, seed))
            log(f"{kind} seed {seed}: model {ours[-1]}")
            plain.append(baseline_scores(data, train_rows, test_rows))
            log(f"{kind} seed {seed}: baseline {plain[-1]}")
        print()
        print(table(f"{kind} split: complaint-router (full router)", ours, args.seeds))
        print()
        print(table(f"{kind} split: baseline TF-IDF word+char + LinearSVC", plain, args.seeds))
        figures[kind] = {"model": ours, "baseline": plain, "seeds": args.seeds}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
