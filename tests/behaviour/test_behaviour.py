"""Behavioural suite of the shipped model: one-line tickets (``tickets.csv``), invariance and directional tests.

Run alone with ``pytest -m behaviour``. The targets of issue 8 (department >= 0.90, screening >= 0.95, 纪检监察 and
无效 recall >= 0.95 each) and the invariance to places and synonyms are not met by the shipped model yet: those
assertions are marked ``xfail`` (not strict), and their messages give the measured values.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from classifier.behaviour import class_results, read_tickets, recall, route_tickets
from classifier.catalogue import Catalogue
from classifier.data import catalogue_path
from classifier.router import route_rows
from classifier.text import normalize, to_simplified

pytestmark = pytest.mark.behaviour

SUITE = Path(__file__).with_name("tickets.csv")
NON_DEFAULT = ("纪检监察", "信访事项", "舆论监督", "无效")
PLACE = re.compile(r"[A-Z]市[A-Z]\d+[区县]|[A-Z]\d+[区县]|[A-Z]市")
PLACES = ("A市A3区", "B市B2县", "K市K5区", "C市C1县", "E市E2区")
SYNONYMS = (("工资", "薪水"), ("公司", "企业"), ("没人管", "无人管理"), ("孩子", "小孩"), ("怎么", "如何"), ("严重", "厉害"),
            ("一直", "始终"), ("很", "非常"), ("老人", "老年人"), ("希望", "请求"), ("举报", "反映"))  # fmt: skip
ESCALATION = "，多次上访无果"


@pytest.fixture(scope="module")
def tickets():
    return read_tickets(SUITE)


@pytest.fixture(scope="module")
def routed(shipped_model, tickets):
    return route_tickets(shipped_model, tickets)


def decisions(model, texts) -> list[tuple[str, str]]:
    out = route_rows(model, [""] * len(texts), list(texts))
    return list(zip(out["screening"], out["department"]))


def test_suite_covers_every_department_and_category(tickets):
    assert len(tickets) >= 250 and tickets["id"].is_unique
    assert tickets["text"].str.len().between(10, 60).all()
    departments = {d.name for d in Catalogue.load(catalogue_path()).departments} | {"无"}
    acceptable = tickets["departments"].str.split("|")
    assert all(set(names) <= departments for names in acceptable)
    primary = acceptable.str[0].value_counts()
    assert (primary.reindex(sorted(departments), fill_value=0) >= 8).all(), primary.to_dict()
    categories = tickets["screening"].value_counts()
    assert all(categories.get(c, 0) >= 20 for c in NON_DEFAULT), categories.to_dict()
    assert (tickets["departments"][tickets["screening"] == "无效"] == "无").all()
    assert (tickets["departments"][tickets["screening"] == "纪检监察"] == "纪委监委").all()
    assert set(tickets["script"]) == {"simplified", "traditional"} and (tickets["script"] == "traditional").sum() >= 30


def test_traditional_tickets_are_written_in_traditional_script(tickets):
    traditional = tickets[tickets["script"] == "traditional"]
    assert all(to_simplified(text) != text for text in traditional["text"])


@pytest.mark.xfail(strict=False, reason="issue 8 target; the shipped model is below it")
def test_department_target(routed):
    accuracy = class_results(routed)["overall"]["department_accuracy"]
    assert accuracy >= 0.90, f"department accuracy {accuracy:.3f} < 0.90"


@pytest.mark.xfail(strict=False, reason="issue 8 target; the shipped model is below it")
def test_screening_target(routed):
    accuracy = class_results(routed)["overall"]["screening_accuracy"]
    assert accuracy >= 0.95, f"screening accuracy {accuracy:.3f} < 0.95"


@pytest.mark.xfail(strict=False, reason="issue 8 target; the shipped model is below it")
@pytest.mark.parametrize("category", ["纪检监察", "无效"])
def test_recall_target(routed, category):
    value = recall(routed, category)
    assert value >= 0.95, f"{category} recall {value:.3f} < 0.95"


def test_traditional_script_keeps_the_decision(shipped_model, tickets):
    import opencc

    simplified = tickets["text"][tickets["script"] == "simplified"].tolist()
    converters = [opencc.OpenCC(config) for config in ("s2t", "s2hk")]
    converted = [converter.convert(text) for text in simplified for converter in converters]
    expected = [d for d in decisions(shipped_model, simplified) for _ in range(2)]
    changed = [(t, a, b) for t, a, b in zip(converted, expected, decisions(shipped_model, converted)) if a != b]
    assert not changed, changed[:5]


def _kept(model, originals: list[str], variants: list[str]) -> tuple[float, list]:
    before, after = decisions(model, originals), decisions(model, variants)
    changed = [(v, a, b) for v, a, b in zip(variants, before, after) if a != b]
    return 1 - len(changed) / len(variants), changed


@pytest.mark.xfail(strict=False, reason="issue 8: one-line tickets still turn on place names in the shipped model")
def test_place_name_keeps_the_decision(shipped_model, tickets):
    """A ticket's place swapped for another (or, without one, a place put in front) keeps screening and department."""
    texts = tickets["text"][tickets["script"] == "simplified"].tolist()
    originals, variants = [], []
    for place in PLACES:
        for text in texts:
            variant = PLACE.sub(place, text) if PLACE.search(text) else place + text
            if variant != text:
                originals.append(text)
                variants.append(variant)
    share, changed = _kept(shipped_model, originals, variants)
    assert not changed, f"{share:.3f} of {len(variants)} decisions kept; changed e.g. {changed[:3]}"


@pytest.mark.xfail(strict=False, reason="issue 8: a few one-line tickets still turn on a synonym in the shipped model")
def test_synonym_keeps_the_decision(shipped_model, tickets):
    texts = tickets["text"][tickets["script"] == "simplified"].tolist()
    pairs = [(text, text.replace(word, other)) for word, other in SYNONYMS for text in texts if word in text]
    assert len(pairs) >= 50
    share, changed = _kept(shipped_model, [a for a, _ in pairs], [b for _, b in pairs])
    assert not changed, f"{share:.3f} of {len(pairs)} decisions kept; changed {changed}"


def test_escalation_raises_petition_probability(shipped_model, tickets):
    """Adding "多次上访无果" to a ticket that is not a petition raises the model's 信访事项 probability."""
    texts = tickets["text"][(tickets["script"] == "simplified") & (tickets["screening"] != "信访事项")].tolist()
    column = shipped_model.labels["screening"].index("信访事项")
    before = shipped_model.predict_proba([normalize(t) for t in texts])["screening"][:, column]
    after = shipped_model.predict_proba([normalize(t + ESCALATION) for t in texts])["screening"][:, column]
    lower = [t for t, a, b in zip(texts, before, after) if not b > a]
    assert not lower and np.median(after - before) > 0.01, lower[:5]
