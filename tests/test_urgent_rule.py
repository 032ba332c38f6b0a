"""The urgent rule chosen at training time: recall of 是 first, the danger lexicon as a rule layer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from classifier.artifact import default_model_path
from classifier.config import TrainConfig
from classifier.router import danger_hits
from classifier.training import URGENT_MIN_THRESHOLD, _urgent_rule

LABELS = {"urgent": ["否", "是"]}


def _rule(p_yes: list[float], gold: list[str], docs: list[str] | None = None, recall: float = 0.9, extra=None) -> dict:
    p = np.array(p_yes)
    docs = docs or ["普通来信"] * len(p)
    return _urgent_rule({"urgent": np.column_stack([1 - p, p])}, LABELS, docs, pd.DataFrame({"urgent": gold}), recall, extra)


def test_threshold_is_the_highest_that_reaches_the_target_recall():
    p_yes = [0.9, 0.6, 0.3, 0.05, 0.2, 0.1, 0.02, 0.01, 0.01, 0.01]
    gold = ["是", "是", "是", "是", "否", "否", "否", "否", "否", "否"]
    rule = _rule(p_yes, gold, recall=0.75)
    assert rule["threshold"] == 0.3
    assert rule["validation_recall"] == 0.75
    assert rule["validation_flagged_share"] == 0.3
    rule = _rule(p_yes, gold, recall=0.9)  # the last 是 sits at 0.05, under two 否: recall costs false alarms
    assert rule["threshold"] == 0.05
    assert rule["validation_recall"] == 1.0
    assert rule["validation_precision"] == round(4 / 6, 4)


def test_a_lexicon_hit_counts_towards_recall_and_the_threshold_stays_between_floor_and_one_half():
    docs = ["普通来信", "楼道里燃气泄漏味道很大", "普通来信", "普通来信"]
    assert danger_hits(docs).tolist() == [False, True, False, False]
    rule = _rule([0.8, 0.001, 0.0001, 0.0001], ["是", "是", "否", "否"], docs)
    assert rule["threshold"] == 0.5 and rule["validation_recall"] == 1.0  # the gas leak is caught by the lexicon
    assert rule["lexicon_precision"] == 1.0
    rule = _rule([0.0005, 0.0001, 0.0001, 0.0001], ["是", "否", "否", "否"])
    assert rule["threshold"] == URGENT_MIN_THRESHOLD and rule["validation_recall"] == 0.0


def test_out_of_fold_rows_steady_the_threshold_but_the_figures_are_the_validation_rows_own():
    p_yes, gold = [0.9, 0.6, 0.2, 0.1], ["是", "是", "否", "否"]
    alone = _rule(p_yes, gold, recall=0.9)
    assert alone["threshold"] == 0.5 and alone["chosen_on"] == {"rows": 4, "urgent": 2, "recall": 1.0}  # both 是 above 0.5
    # ten training messages out of fold: 是 at 0.3 and 0.05 besides three high ones
    extra = (np.array([0.95, 0.9, 0.8, 0.3, 0.05, 0.2, 0.1, 0.04, 0.02, 0.01]),
             np.array([True, True, True, True, True, False, False, False, False, False]), np.zeros(10, dtype=bool))
    pooled = _rule(p_yes, gold, recall=0.9, extra=extra)
    assert pooled["threshold"] == 0.05 and pooled["chosen_on"] == {"rows": 14, "urgent": 7, "recall": 1.0}
    assert pooled["validation_recall"] == 1.0 and pooled["validation_flagged_share"] == 1.0  # 4 validation rows


def test_the_linear_model_keeps_out_of_fold_probabilities_of_its_training_rows_in_memory_only(tiny_model_dir):
    from classifier.artifact import load_model
    from classifier.models.linear import LinearModel
    from classifier.router import prepare
    from conftest import tiny_config, tiny_frame

    frame = tiny_frame()
    docs, _ = prepare(frame["title"].tolist(), frame["text"].tolist())
    department = frame["department"].to_numpy(dtype=object)
    department[0] = ""
    model = LinearModel(tiny_config()).fit(docs, {"department": department})
    rows, proba = model.cross_validated_proba("department")
    assert rows.tolist() == list(range(1, len(docs)))  # the labelled rows only
    assert proba.shape == (len(docs) - 1, len(model.labels["department"]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.cross_validated_proba("urgent") is None
    assert load_model(tiny_model_dir).model.cross_validated_proba("department") is None


def test_the_shipped_model_was_tuned_for_the_target_recall_of_urgent():
    meta = json.loads((default_model_path() / "metadata.json").read_text(encoding="utf-8"))
    rule = meta["rules"]["urgent"]
    assert meta["config"]["urgent_recall"] == TrainConfig().urgent_recall >= 0.9  # trained with today's default
    assert rule["chosen_on"]["urgent"] > 200 and rule["chosen_on"]["recall"] >= meta["config"]["urgent_recall"]
    assert rule["validation_recall"] is not None and 0 < rule["validation_flagged_share"] < 0.5


def test_near_copies_stay_in_one_calibration_fold_so_out_of_fold_probabilities_are_held_out():
    from classifier.models.linear import LinearModel
    from classifier.router import prepare
    from conftest import tiny_config, tiny_frame

    frame = tiny_frame()
    docs, _ = prepare(frame["title"].tolist(), frame["text"].tolist())
    labels = frame["department"].to_numpy(dtype=object)
    docs, labels = docs * 2, np.concatenate([labels, labels])  # every message twice: a near-copy of itself
    pairs = np.tile(np.arange(len(frame)), 2)

    def truth_probability(**groups) -> float:
        model = LinearModel(tiny_config(calibration_folds=2)).fit(docs, {"department": labels}, **groups)
        rows, proba = model.cross_validated_proba("department")
        names = model.labels["department"]
        return float(np.mean([proba[i, names.index(labels[r])] for i, r in enumerate(rows)]))

    # split at random, a message's copy is often in the other fold and the fold's model has seen it
    assert truth_probability(groups=pairs) < truth_probability() - 0.05


def test_too_few_near_copy_groups_for_the_folds_fall_back_to_folds_of_rows():
    import scipy.sparse as sp

    from classifier.models.linear import LinearHead

    X = sp.csr_matrix(np.random.default_rng(0).random((6, 5)))
    head = LinearHead(calibration_folds=3).fit(X, ["a"] * 3 + ["b"] * 3, groups=np.array([0, 0, 0, 1, 1, 1]))
    assert head.cross_validated_.shape == (6, 2)
