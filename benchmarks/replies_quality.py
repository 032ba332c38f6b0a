"""Validation of the reply checker against hand grades and the contest team's scores.

    PYTHONPATH=. python benchmarks/replies_quality.py [--tune]

Prints, for the shipped thresholds (``classifier.replies.scoring.DEFAULT_THRESHOLDS``):
* the confusion of ``quality`` with the 228 hand grades of ``tests/replies/graded.csv`` and the precision and
  recall of ``poor``, on all of them and on the 170 drawn at random;
* 5-fold cross-validated figures of the same tuning procedure (thresholds chosen on four folds, scored on the
  fifth), the honest estimate, since the shipped thresholds were chosen on all 228 grades;
* agreement with the 68 replies scored 0/1 for completeness and explainability by one contest team, next to the
  agreement of the hand grades with the same team (two people's readings).
``--tune`` also prints the thresholds the tuning picks on all grades (how the defaults were set).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier.data import load_bundled  # noqa: E402
from classifier.replies.scoring import DEFAULT_THRESHOLDS, QUALITIES, Thresholds, analyse, grade  # noqa: E402

GRADED = Path(__file__).resolve().parent.parent / "tests" / "replies" / "graded.csv"
POOR_GRID = {
    "answered_share": [0.25, 0.34, 0.5],
    "answered_terms": [2, 3],
    "poor_completeness": [0.0, 0.2, 0.34],
    "poor_relevance": [0.0, 0.03, 0.05, 0.08],
    "min_substance": [15, 25, 40, 60],
    "thin_concrete": [1, 2, 3],
}
GOOD_GRID = {
    "good_concrete": [2, 3, 5, 8],
    "good_completeness": [0.34, 0.5, 0.67, 1.0],
    "good_relevance": [0.1, 0.15, 0.2, 0.25],
}


def graded_frame() -> pd.DataFrame:
    """The hand grades with their message and reply (from the bundled data)."""
    grades = pd.read_csv(GRADED, dtype=str)
    texts = pd.concat([load_bundled("replies"), load_bundled("unlabelled")]).drop_duplicates("id").set_index("id")
    missing = set(grades["id"]) - set(texts.index)
    if missing:
        raise SystemExit(f"graded ids not in the bundled data: {sorted(missing)[:5]}")
    return grades.join(texts[["title", "text", "reply"]], on="id")


def predict(analyses: list, t: Thresholds) -> np.ndarray:
    return np.array([grade(a, t).quality for a in analyses])


def poor_scores(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = int(((pred == "poor") & (truth == "poor")).sum())
    precision = tp / max(int((pred == "poor").sum()), 1)
    recall = tp / max(int((truth == "poor").sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    f1s = []
    for label in QUALITIES:
        tp = ((pred == label) & (truth == label)).sum()
        p, r = tp / max((pred == label).sum(), 1), tp / max((truth == label).sum(), 1)
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(f1s))


def tune(analyses: list, truth: np.ndarray) -> Thresholds:
    """Poor thresholds for the best F1 of poor, then good thresholds for the best macro-F1 (ties: defaults' order)."""
    best, best_t = -1.0, DEFAULT_THRESHOLDS
    for values in itertools.product(*POOR_GRID.values()):
        t = replace(DEFAULT_THRESHOLDS, **dict(zip(POOR_GRID, values)))
        f1 = poor_scores(truth, predict(analyses, t))[2]
        if f1 > best + 1e-9:
            best, best_t = f1, t
    best = -1.0
    chosen = best_t
    for values in itertools.product(*GOOD_GRID.values()):
        try:
            t = replace(best_t, **dict(zip(GOOD_GRID, values)))
        except ValueError:
            continue
        f1 = macro_f1(truth, predict(analyses, t))
        if f1 > best + 1e-9:
            best, chosen = f1, t
    return chosen


def report(name: str, truth: np.ndarray, pred: np.ndarray) -> None:
    p, r, f1 = poor_scores(truth, pred)
    print(f"\n{name}: {len(truth)} replies, accuracy {np.mean(truth == pred):.3f}, macro-F1 {macro_f1(truth, pred):.3f}, "
          f"poor precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    table = pd.crosstab(pd.Series(truth, name="hand grade"), pd.Series(pred, name="quality"))
    print(table.reindex(index=QUALITIES, columns=QUALITIES, fill_value=0).to_string())


def team_agreement(frame: pd.DataFrame, pred: np.ndarray) -> None:
    team = load_bundled("replies").set_index("id")
    rows = frame["id"].isin(team.index).to_numpy()
    sub = frame[rows].copy()
    sub["quality"] = pred[rows]
    sub["team"] = [int(float(team.loc[i, "completeness"])) + int(float(team.loc[i, "explainability"])) for i in sub["id"]]
    print(f"\nContest team's 68 scores (completeness + explainability, 0–2) against ours: n = {len(sub)}")
    for column, label in (("quality", "replies command"), ("grade", "hand grades")):
        print(f"  {label}: rows = team score, columns = {column}")
        table = pd.crosstab(sub["team"], sub[column]).reindex(columns=QUALITIES, fill_value=0)
        print("    " + table.to_string().replace("\n", "\n    "))
        order = sub[column].map({"poor": 0, "acceptable": 1, "good": 2})
        rho = pd.Series(order).corr(sub["team"], method="spearman")
        bad_team, bad_ours = sub["team"] == 0, sub[column] == "poor"
        both = int((bad_team & bad_ours).sum())
        print(f"    Spearman {rho:.2f}; team 0/2 (both 0) = {int(bad_team.sum())}, {column} poor = {int(bad_ours.sum())}, "
              f"both = {both}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="print the thresholds tuned on all grades")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    frame = graded_frame()
    analyses = [analyse(r.title, r.text, r.reply) for r in frame.itertuples()]
    truth = frame["grade"].to_numpy()
    pred = predict(analyses, DEFAULT_THRESHOLDS)
    print(f"shipped thresholds: {DEFAULT_THRESHOLDS}")
    report("All hand-graded replies (thresholds tuned on these: optimistic)", truth, pred)
    random = (frame["sample"] == "random").to_numpy()
    report("The 170 drawn at random (part of the tuning set)", truth[random], pred[random])
    rng = np.random.default_rng(10)
    folds = np.empty(len(frame), dtype=int)
    for label in QUALITIES:  # stratified by hand grade
        idx = np.flatnonzero(truth == label)
        folds[rng.permutation(idx)] = np.arange(len(idx)) % args.folds
    cv_pred = np.empty(len(frame), dtype=object)
    for k in range(args.folds):
        train, test = folds != k, folds == k
        t = tune([a for a, m in zip(analyses, train) if m], truth[train])
        cv_pred[test] = predict([a for a, m in zip(analyses, test) if m], t)
    report(f"{args.folds}-fold cross-validation (tuned on 4 folds, scored on the 5th)", truth, cv_pred.astype(str))
    team_agreement(frame, pred)
    if args.tune:
        print(f"\ntuned on all grades: {tune(analyses, truth)}")


if __name__ == "__main__":
    main()
