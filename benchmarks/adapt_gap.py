"""What the adaptation benchmark's gap is made of, and which label-free fixes close it.

    python benchmarks/adapt_gap.py [--city A] [--base-rows 4000]

Same set-up as ``benchmarks/adapt.py`` (the held-out city's messages split 60/40 into a pool and a test set; a
base trained on ``--base-rows`` messages of the other cities), but the department head alone (``LinearModel``,
30,000 + 30,000 features, 2 calibration folds), so each variant is one fit. Department top-1 on the test set of:

* the base model; the base plus the whole pool labelled (the gap adapt.py measures);
* the base plus as many *other* cities' messages as the pool holds: is the gap data volume or the city?
* the base with its probabilities moved to the city's department shares (prior shift): the true shares of the
  pool, and the shares estimated by EM on the unlabelled pool (Saerens et al., 2002);
* the base trained again with its own confident guesses on the pool (self-training, three cut-offs);
* the base plus 100 pool messages labelled at random, alone and with their labels copied to close pool messages;
* how many random labels it takes (200 … 1,600), and what 100 labels give when an oracle picks them among the
  pool messages the base model gets wrong (no selection rule can know more);
* and the share of the gap that sits on test messages with a near-copy in the pool (``classifier.groups``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from cities import city_split
from classifier.config import TrainConfig
from classifier.data import load_bundled
from classifier.groups import near_duplicate_groups
from classifier.models.linear import LinearModel
from classifier.router import prepare

CONFIG = TrainConfig(max_word_features=30_000, max_char_features=30_000, calibration_folds=2)


def documents(frame: pd.DataFrame) -> list[str]:
    return prepare(frame["title"].tolist(), frame["text"].tolist())[0]


def fit(frame: pd.DataFrame, weights: np.ndarray | None = None) -> LinearModel:
    targets = {"department": frame["department"].to_numpy(dtype=object)}
    return LinearModel(CONFIG).fit(documents(frame), targets, sample_weight=weights)


def hundred_labels(base_rows: pd.DataFrame, pool: pd.DataFrame, pool_docs: list[str], correct) -> list[tuple[str, str]]:
    """100 pool messages labelled at random (weight 5, as ``adapt``), alone and with their labels copied to the
    pool messages closest to them (character-bigram cosine >= 0.5, weight 2): can a hundred labels reach further
    through the city's unlabelled near neighbours? Three seeds, min–max."""
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(pool_docs)
    alone, spread, reached = [], [], []
    for seed in (0, 1, 2):
        pick = np.random.default_rng(seed).choice(len(pool), 100, replace=False)
        labelled = pool.iloc[pick]
        weights = np.r_[np.ones(len(base_rows)), np.full(100, 5.0)]
        alone.append(correct(fit(pd.concat([base_rows, labelled]), weights)).mean())
        similarity = (vectors @ vectors[pick].T).toarray()
        similarity[pick] = 0
        near = np.flatnonzero(similarity.max(axis=1) >= 0.5)
        copied = pool.iloc[near].assign(department=labelled["department"].to_numpy()[similarity[near].argmax(axis=1)])
        right = (copied["department"].to_numpy() == pool["department"].to_numpy()[near]).mean() if len(near) else 1.0
        reached.append(f"{len(near)} ({right:.0%} right)")
        weights = np.r_[weights, np.full(len(near), 2.0)]
        spread.append(correct(fit(pd.concat([base_rows, labelled, copied]), weights)).mean())
    return [("base + 100 pool messages labelled at random (weight 5; 3 seeds)", f"{min(alone):.3f}–{max(alone):.3f}"),
            (f"the same + their labels copied to close pool messages: {', '.join(reached)}",
             f"{min(spread):.3f}–{max(spread):.3f}")]  # fmt: skip


def more_labels(base_rows: pd.DataFrame, pool: pd.DataFrame, base: LinearModel, pool_docs: list[str], correct,
                closed) -> list[tuple[str, str]]:  # fmt: skip
    """The learning curve of random labels (weight 5, as ``adapt``; 2 seeds), and 100 labels picked by an oracle among
    the pool messages the base model gets wrong (weights 5 and 1; 2 seeds): min–max and the share of the gap closed."""
    rows, followed = [], []

    def labelled(pick: np.ndarray, weight: float) -> float:
        weights = np.r_[np.ones(len(base_rows)), np.full(len(pick), weight)]
        model = fit(pd.concat([base_rows, pool.iloc[pick]]), weights)
        guesses = np.array(model.labels["department"])[model.predict_proba([pool_docs[i] for i in pick])["department"].argmax(axis=1)]
        followed.append((guesses == pool["department"].to_numpy()[pick]).mean())  # the labelled messages themselves
        return correct(model).mean()

    def spread(values: list[float]) -> str:
        return f"{min(values):.3f}–{max(values):.3f} ({closed(min(values)):.0%} to {closed(max(values)):.0%} of the gap)"

    for n in (200, 400, 800, 1600):
        picks = [np.random.default_rng(seed).choice(len(pool), n, replace=False) for seed in (0, 1)]
        rows.append((f"base + {n} pool messages labelled at random (weight 5; 2 seeds)",
                     spread([labelled(pick, 5.0) for pick in picks])))  # fmt: skip
    guesses = np.array(base.labels["department"])[base.predict_proba(pool_docs)["department"].argmax(axis=1)]
    wrong = np.flatnonzero(guesses != pool["department"].to_numpy())
    picks = [np.random.default_rng(seed).choice(wrong, 100, replace=False) for seed in (0, 1)]
    for weight in (5.0, 1.0):
        followed.clear()
        accuracy = spread([labelled(pick, weight) for pick in picks])
        rows.append((f"oracle: base + 100 of the {len(wrong)} pool messages it gets wrong (weight {weight:g}; 2 seeds; "
                     f"{min(followed):.0%}–{max(followed):.0%} of the 100 then routed as labelled)", accuracy))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--city", default="A")
    parser.add_argument("--base-rows", type=int, default=4000)
    args = parser.parse_args()
    start = time.perf_counter()
    routing = load_bundled("routing")
    base_rows, spare, pool, test = city_split(routing, args.city, args.base_rows)
    pool_docs = documents(pool)
    test_docs, gold = documents(test), test["department"].to_numpy()

    def correct(model: LinearModel, probs: np.ndarray | None = None) -> np.ndarray:
        probs = model.predict_proba(test_docs)["department"] if probs is None else probs
        return np.array(model.labels["department"])[probs.argmax(axis=1)] == gold

    base = fit(base_rows)
    labels = base.labels["department"]
    base_ok = correct(base)
    everything_ok = correct(fit(pd.concat([base_rows, pool])))
    extra = min(len(spare), len(pool))
    rows = [("base", base_ok.mean()), (f"base + the pool labelled ({len(pool)})", everything_ok.mean()),
            (f"base + {extra} messages of other cities", correct(fit(pd.concat([base_rows, spare.iloc[:extra]]))).mean())]  # fmt: skip

    trained = np.array([(base_rows["department"] == label).mean() for label in labels]) + 1e-6
    test_probs, pool_probs = base.predict_proba(test_docs)["department"], base.predict_proba(pool_docs)["department"]

    def shifted(probs: np.ndarray, shares: np.ndarray) -> np.ndarray:
        moved = probs * shares / trained
        return moved / moved.sum(axis=1, keepdims=True)

    true_shares = np.array([(pool["department"] == label).mean() for label in labels]) + 1e-4
    rows.append(("base, moved to the pool's true department shares", correct(base, shifted(test_probs, true_shares)).mean()))
    estimated = trained.copy()
    for _ in range(50):
        estimated = shifted(pool_probs, estimated).mean(axis=0)
    rows.append(("base, moved to shares estimated by EM on the pool", correct(base, shifted(test_probs, estimated)).mean()))
    confidence, guess = pool_probs.max(axis=1), np.array(labels)[pool_probs.argmax(axis=1)]
    for cutoff in (0.5, 0.7, 0.9):
        chosen = confidence >= cutoff
        pseudo = pool[chosen].assign(department=guess[chosen])
        right = (guess[chosen] == pool["department"].to_numpy()[chosen]).mean()
        rows.append((f"self-training: base + {chosen.sum()} own guesses >= {cutoff} ({right:.0%} right)",
                     correct(fit(pd.concat([base_rows, pseudo]))).mean()))  # fmt: skip

    rows += hundred_labels(base_rows, pool, pool_docs, correct)
    gap = everything_ok.mean() - base_ok.mean()
    rows += more_labels(base_rows, pool, base, pool_docs, correct, lambda value: (value - base_ok.mean()) / gap)

    groups = near_duplicate_groups(pool_docs + test_docs)
    copied = np.isin(groups[len(pool):], groups[: len(pool)])
    gained = everything_ok.astype(int) - base_ok.astype(int)
    print(f"city {args.city}: pool {len(pool)}, test {len(test)}; base rows {len(base_rows)}; "
          f"{time.perf_counter() - start:.0f} s\n")
    print("| variant | department top-1 |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value if isinstance(value, str) else f'{value:.3f}'} |")
    print(f"\ntest messages with a near-copy in the pool: {copied.sum()} ({copied.mean():.1%}); "
          f"share of the gap on them: {gained[copied].sum() / max(gained.sum(), 1):.0%}")
    print(f"top-1 without them: base {base_ok[~copied].mean():.3f}, pool labelled {everything_ok[~copied].mean():.3f}")


if __name__ == "__main__":
    main()
