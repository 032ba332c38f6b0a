"""The adaptation loop on a city the model never saw: labels chosen by ``suggest`` against labels chosen at random.

    python benchmarks/adapt.py [--city A] [--sizes 25 50 100 200] [--seeds 0 1 2] [--weight 5] [--base-rows 4000]
                               [--plot curve.png]

The bundled routing annotations name anonymised cities (``benchmarks/cities.py``). The held-out city's messages
are split at random into a pool (60%, the city's unlabelled file) and a test set (40%). The base model is trained
on the other cities' messages (a random ``--base-rows`` of them, for speed); then, for each size n, n messages of the pool are labelled (their annotated
department and screening, as a screener would fill in the file ``suggest`` writes) and ``adapt`` trains a new
model from the base model and those rows; department top-1 accuracy on the test set is printed for: no labels
(the base model), n messages chosen by ``suggest``, n chosen at random (one run per seed), and all of the pool
labelled (the upper bound). The gap closed is (accuracy with n − accuracy with none) / (all − none).

Speed: the models are trained on the routing annotations only (heads screening, department and urgent; no topic
data; at most ``--base-rows`` messages of the other cities), with 30,000 word and 30,000 character features, 2
calibration folds and no title rows; ``adapt`` runs as shipped (validation split, tuning, refit on all rows).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from cities import city_split
from classifier.adapt import adapt
from classifier.artifact import load_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import catalogue_path, load_bundled, message_docs, unlabelled_texts
from classifier.evaluate import evaluate
from classifier.suggest import suggest_rows
from classifier.training import train

FAST = {"max_word_features": 30_000, "max_char_features": 30_000, "calibration_folds": 2, "title_examples": False}
HEADS = ["screening", "department", "urgent"]
LABELLED = ["screening", "department"]
"""The columns a screener fills in the file written by ``suggest``."""


def accuracy(model_dir, test) -> float:
    return evaluate(load_model(model_dir), test)["heads"]["department"]["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--city", default="A")
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--weight", type=float, default=5.0)
    parser.add_argument("--pool-share", type=float, default=0.6)
    parser.add_argument("--base-rows", type=int, default=4000)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    routing = load_bundled("routing").drop(columns=["topic", "confidence"])
    rest, _, pool, test = city_split(routing, args.city, args.base_rows, args.pool_share)
    vocabulary = unlabelled_texts()
    vocabulary = message_docs(vocabulary[~vocabulary["id"].isin(set(pool["id"]) | set(test["id"]))])
    print(f"city {args.city}: {len(pool) + len(test)} messages, pool {len(pool)}, test {len(test)}; "
          f"training rows of other cities {len(rest)}")  # fmt: skip
    results: dict[str, dict[int, list[float]]] = {"suggest": {}, "random": {}}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        train(rest, base, TrainConfig(label_cols=HEADS, **FAST), vocabulary_docs=vocabulary,
              catalogue=Catalogue.load(catalogue_path()))  # fmt: skip
        zero = accuracy(base, test)
        base_model = load_model(base)
        print(f"no labels: {zero:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)

        def adapted(rows, name: str) -> float:
            labelled = pool.iloc[rows].drop(columns=["urgent"]).reset_index(drop=True)
            adapt(base, labelled, Path(folder) / name, weight=args.weight)
            return accuracy(Path(folder) / name, test)

        everything = adapted(np.arange(len(pool)), "all")
        print(f"all {len(pool)} pool messages labelled: {everything:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)
        for n in [s for s in args.sizes if s <= len(pool)]:
            _, rows, _ = suggest_rows(base_model, pool["title"].tolist(), pool["text"].tolist(), n)
            results["suggest"][n] = [adapted(rows, f"suggest{n}")]
            results["random"][n] = [adapted(np.random.default_rng(seed).choice(len(pool), n, replace=False), f"random{n}-{seed}")
                                    for seed in args.seeds]  # fmt: skip
            print(f"n={n}: suggest {results['suggest'][n][0]:.3f}, random "
                  + ", ".join(f"{a:.3f}" for a in results["random"][n]) + f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    gap = everything - zero
    print(f"\n| labels | suggest | random (mean of {len(args.seeds)} seeds: min–max) | gap closed: suggest | random |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| 0 | {zero:.3f} | {zero:.3f} | 0 | 0 |")
    for n in results["suggest"]:
        s, r = results["suggest"][n][0], results["random"][n]
        closed = (lambda a: f"{(a - zero) / gap:.0%}" if gap > 0 else "n/a")
        print(f"| {n} | {s:.3f} | {np.mean(r):.3f} ({min(r):.3f}–{max(r):.3f}) | {closed(s)} | {closed(np.mean(r))} |")
    print(f"| all {len(pool)} | {everything:.3f} | {everything:.3f} | 100% | 100% |")
    print(f"weight {args.weight}; {time.perf_counter() - start:.0f} s in all")
    if args.plot:
        from classifier.plotting import pyplot

        plt, _ = pyplot()
        sizes = [0, *results["suggest"]]
        figure, axis = plt.subplots(figsize=(5, 3.4))
        axis.plot(sizes, [zero] + [results["suggest"][n][0] for n in sizes[1:]], "o-", label="suggest")
        axis.plot(sizes, [zero] + [np.mean(results["random"][n]) for n in sizes[1:]], "s--", label=f"random ({len(args.seeds)} seeds)")
        axis.axhline(everything, color="grey", linestyle=":", label=f"all {len(pool)} labelled")
        axis.set_xlabel("labelled messages of the new city")
        axis.set_ylabel("department top-1")
        axis.set_title(f"Adapting to city {args.city} (test: {len(test)} messages)")
        axis.legend()
        figure.tight_layout()
        figure.savefig(args.plot, dpi=110)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
