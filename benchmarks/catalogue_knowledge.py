"""Does the catalogue's responsibility text help on a city the model never saw? Leave one city out.

    python benchmarks/catalogue_knowledge.py [--min-messages 100] [--cities A K ...] [--full]

The bundled routing annotations name anonymised cities (``benchmarks/cities.py``). For each city with at least
``--min-messages`` annotated messages, in turn: every message of that city is removed from the training data
(routing annotations, topic messages, vocabulary texts); a linear model is fitted on 80% of the rest; the rules are
tuned on the other 20% as ``train`` does, three ways; the held-out city's messages are routed with each and their
department top-1 accuracy is printed:

* ``none``: no catalogue rule;
* ``keywords``: the keyword rule only (the catalogue as it was used before the responsibility text);
* ``keywords+text``: the keyword rule and the catalogue-similarity rule (``Catalogue.similarity``).

Speed: the model is fitted once per city, without the refit on all rows, with 30,000 word and 30,000 character
features, 2 calibration folds and no title rows (``--full``: the default training settings).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from cities import cities
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import catalogue_path, load_bundled, message_docs, training_frame, unlabelled_texts
from classifier.router import NO_DEPARTMENT, decide
from classifier.training import _fit, split_rows, tune_and_score, usable_rows

FAST = {"max_word_features": 30_000, "max_char_features": 30_000, "calibration_folds": 2, "title_examples": False}
VARIANTS = {"none": {"catalogue": False}, "keywords": {"catalogue_weight": 0.0}, "keywords+text": {}}


def run_city(city: str, routing, labelled, unlabelled, config: TrainConfig, catalogue: Catalogue) -> dict:
    held = routing[routing["city"] == city]
    heads = ["topic", "screening", "department", "urgent"]
    frame, docs, _ = usable_rows(labelled[~labelled["id"].isin(set(held["id"]))], heads)
    vocabulary = message_docs(unlabelled[~unlabelled["id"].isin(set(held["id"]))])
    train_rows, valid_rows = split_rows(frame, heads, config.validation_fraction, config.seed)
    targets = {h: frame[h].to_numpy(dtype=object)[train_rows] for h in heads}
    model = _fit(config, [docs[i] for i in train_rows], targets, vocabulary)
    valid_docs, truth = [docs[i] for i in valid_rows], frame.iloc[valid_rows].reset_index(drop=True)
    test_docs = message_docs(held)
    probs = model.predict_proba(test_docs)
    gold = held["department"].to_numpy()
    out = {"messages": len(held)}
    for name, variant in VARIANTS.items():
        chosen = catalogue if variant.get("catalogue", True) else None
        tuned = dataclasses.replace(config, **{k: v for k, v in variant.items() if k != "catalogue"})
        _, _, rules = tune_and_score(model, valid_docs, truth, tuned, chosen)
        decided = decide(probs, model.labels, test_docs, thresholds={}, rules=rules,
                         keyword_hits=None if chosen is None else chosen.keyword_hits(test_docs, model.labels["department"]),
                         catalogue_scores=None if chosen is None else chosen.similarity(test_docs, model.labels["department"]))  # fmt: skip
        predicted = np.where(decided["department"] == "", NO_DEPARTMENT, decided["department"])
        out[name] = float((predicted == gold).mean())
        out[f"{name} rules"] = {k: v for k, v in rules.items() if k.endswith("weight")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-messages", type=int, default=100)
    parser.add_argument("--cities", nargs="*")
    parser.add_argument("--full", action="store_true", help="default training settings instead of the faster ones")
    args = parser.parse_args()
    routing = load_bundled("routing")
    routing["city"] = cities(routing)
    counts = routing["city"].replace("", "(none)").value_counts()
    print("routing annotations per city:", ", ".join(f"{c} {n}" for c, n in counts.items()))
    chosen = args.cities or [c for c, n in counts.items() if c != "(none)" and n >= args.min_messages]
    config = TrainConfig() if args.full else TrainConfig(**FAST)
    catalogue = Catalogue.load(catalogue_path())
    labelled, unlabelled = training_frame(), unlabelled_texts()
    print(f"{'city':<5}{'messages':>9}" + "".join(f"{v:>15}" for v in VARIANTS) + "  tuned weights (keyword, text)  seconds")
    results = []
    for city in chosen:
        start = time.perf_counter()
        result = run_city(city, routing, labelled, unlabelled, config, catalogue)
        results.append(result)
        weights = result["keywords+text rules"]
        print(f"{city:<5}{result['messages']:>9}" + "".join(f"{result[v]:>15.3f}" for v in VARIANTS)
              + f"  {weights.get('keyword_weight')}, {weights.get('catalogue_weight')}"
              + f"  {time.perf_counter() - start:.0f}", flush=True)  # fmt: skip
    total = sum(r["messages"] for r in results)
    print(f"{'all':<5}{total:>9}" + "".join(f"{sum(r[v] * r['messages'] for r in results) / total:>15.3f}" for v in VARIANTS)
          + "  (weighted by messages)")  # fmt: skip
    print(f"{'mean':<5}{'':>9}" + "".join(f"{np.mean([r[v] for r in results]):>15.3f}" for v in VARIANTS) + "  (over cities)")


if __name__ == "__main__":
    main()
