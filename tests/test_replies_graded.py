"""The reply checker against the replies graded by hand (tests/replies/graded.csv, rules in GRADING.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from classifier.data import load_bundled
from classifier.replies.scoring import DEFAULT_THRESHOLDS, analyse, grade

GRADED = Path(__file__).resolve().parent / "replies" / "graded.csv"


@pytest.fixture(scope="module")
def graded() -> pd.DataFrame:
    grades = pd.read_csv(GRADED, dtype=str)
    texts = pd.concat([load_bundled("replies"), load_bundled("unlabelled")]).drop_duplicates("id").set_index("id")
    return grades.join(texts[["title", "text", "reply"]], on="id")


def test_grades_file_is_complete(graded):
    assert graded["id"].is_unique
    assert set(graded["grade"]) == {"good", "acceptable", "poor"}
    assert (graded["sample"] == "random").sum() >= 150
    assert graded["reply"].notna().all(), "every graded id is in the bundled data"
    assert graded["reason"].str.len().gt(10).all()
    team = load_bundled("replies")["id"]
    assert team.isin(graded["id"]).all(), "all 68 team-scored replies are graded"


def test_poor_replies_are_found_and_explained(graded):
    scores = [grade(analyse(r.title, r.text, r.reply), DEFAULT_THRESHOLDS) for r in graded.itertuples()]
    predicted = np.array([s.quality for s in scores])
    truth = graded["grade"].to_numpy()
    tp = ((predicted == "poor") & (truth == "poor")).sum()
    precision, recall = tp / (predicted == "poor").sum(), tp / (truth == "poor").sum()
    assert precision >= 0.7 and recall >= 0.7, (precision, recall)  # measured on the tuning set: see the README
    assert all(s.reasons for s in scores if s.quality == "poor"), "every poor reply has its reasons"
