"""The urgent rule chosen at training time: recall of 是 first, the danger lexicon as a rule layer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from classifier.artifact import default_model_path
from classifier.router import danger_hits
from classifier.training import URGENT_MIN_THRESHOLD, _urgent_rule

LABELS = {"urgent": ["否", "是"]}


def _rule(p_yes: list[float], gold: list[str], docs: list[str] | None = None, recall: float = 0.9) -> dict:
    p = np.array(p_yes)
    docs = docs or ["普通来信"] * len(p)
    return _urgent_rule({"urgent": np.column_stack([1 - p, p])}, LABELS, docs, pd.DataFrame({"urgent": gold}), recall)


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
    rule = _rule([0.001, 0.0001, 0.0001, 0.0001], ["是", "否", "否", "否"])
    assert rule["threshold"] == URGENT_MIN_THRESHOLD and rule["validation_recall"] == 0.0


def test_the_shipped_model_reaches_the_target_recall_of_urgent_on_its_validation_rows():
    meta = json.loads((default_model_path() / "metadata.json").read_text(encoding="utf-8"))
    rule = meta["rules"]["urgent"]
    assert rule["validation_recall"] >= meta["config"]["urgent_recall"] >= 0.9
