"""The routing decision: from per-head probabilities to screening, department, review flag and status.

Order of work for a batch of rows: reject rows with no usable text (they never reach the model), normalise the
rest, ask the model for probabilities, apply the rules (garbage to 无效, catalogue keywords and the similarity to each
department's responsibility text, screening cues, the danger lexicon for ``urgent``), make the department follow the screening decision (纪检监察 goes to 纪委监委
whatever the accused person's department, 无效 gets no department, 信访局 only for 信访事项), and flag rows whose
confidence is under the review threshold of their head and predicted label. Training tunes the rules and
thresholds with these same functions.

Screening cues (``classifier/resources/cues.json``, ``classifier.cues``) work at two strengths. On every message
they multiply the probability of their category by ``exp(cue_weight * min(hits, 3))`` (``cue_weight`` tuned on
validation rows). On a short message (at most ``SHORT_CHARS`` characters: a one-line ticket, where the model has
little to go on) they take precedence, in the order of ``PRECEDENCE``: the first of 纪检监察, 信访事项, 舆论监督
whose cue it holds; otherwise a 无效 cue, with no cue of another category and no catalogue keyword, makes it 无效
(always flagged for review, like the garbage rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from classifier.text import has_han, is_markup_junk, normalize, resource_lines

INVALID = "无效"
NO_DEPARTMENT = "无"
LINKED = {"纪检监察": "纪委监委", INVALID: NO_DEPARTMENT}
"""Screening categories that fix the department."""
PETITION, PETITION_OFFICE = "信访事项", "信访局"
DECISION_HEADS = ("screening", "department")
"""Heads whose doubt sends a message to review (for a model with neither: all its heads)."""
URGENT, URGENT_YES = "urgent", "是"
MAX_INPUT_CHARS = 1_000_000
PRECEDENCE = ("纪检监察", PETITION, "舆论监督")
"""Screening categories whose cues decide a one-line ticket, strongest first (then 无效, see ``_cue_rules``)."""
SHORT_CHARS = 60
"""A message this short (normalised title + text) is a one-line ticket: screening cues take precedence."""
CUE_CONFIDENCE = 0.9
"""Probability a precedence cue gives its category (the rest keeps its proportions)."""


def output_columns(labels: dict[str, list[str]]) -> list[str]:
    """The routing columns of a model with these heads, in order.

    ``screening``/``department``/``topic`` come first when the model has them (``department`` with
    ``department_top3``), then a ``<head>, <head>_confidence`` pair for every other head, then
    ``needs_review``, ``route_status`` and ``model_version``.
    """
    columns = []
    for head in ("screening", "department", "topic"):
        if head in labels:
            columns += [head, f"{head}_confidence"] + (["department_top3"] if head == "department" else [])
    for head in labels:
        if head not in ("screening", "department", "topic"):
            columns += [head, f"{head}_confidence"]
    return columns + ["needs_review", "route_status", "model_version"]


UNROUTABLE_ZH = {
    "missing text": "缺少正文",
    "empty text": "正文为空",
    "no text (only digits, punctuation or symbols)": "没有文字（只有数字、标点或符号）",
    "no readable text": "没有可读的文字（只有网页代码之类）",
}
"""``check_text``'s reasons (English in ``route_status``, which programs read) as people read them in Chinese."""


def check_text(title: object, text: object) -> str | None:
    """The reason a row cannot be routed (a key of ``UNROUTABLE_ZH``), or None when its text is usable."""
    if not isinstance(text, str):
        return "missing text"
    if not text.strip():
        return "empty text"
    if not any(ch.isalpha() for ch in text[:MAX_INPUT_CHARS]):
        return "no text (only digits, punctuation or symbols)"
    if is_markup_junk(text[:MAX_INPUT_CHARS]):
        return "no readable text"
    return None


def prepare(titles: Sequence[object], texts: Sequence[object]) -> tuple[list[str], list[str | None]]:
    """Normalised documents (``title + text``) and a reason per row that cannot be routed."""
    docs, reasons = [], []
    for title, text in zip(titles, texts):
        reason = check_text(title, text)
        reasons.append(reason)
        if reason is None:
            head = title if isinstance(title, str) else ""
            docs.append(normalize(f"{head[:MAX_INPUT_CHARS]} {text[:MAX_INPUT_CHARS]}"))
        else:
            docs.append("")
    return docs, reasons


def is_garbage(doc: str) -> bool:
    """Text a screener would call 无效 at a glance: no Chinese at all, or one character repeated.

    The rule's 无效 is always flagged for review (a message in another script or language is not spam).
    """
    if not has_han(doc):
        return True
    compact = doc[:200].replace(" ", "")
    return len(compact) >= 4 and len(set(compact[:64])) == 1 and len(set(doc.replace(" ", ""))) == 1


@lru_cache(maxsize=1)
def danger_counter():
    """Phrase counter of the danger lexicon (``resources/danger.txt``): immediate risks that make a message urgent."""
    from classifier.features import PhraseCounter

    return PhraseCounter(sorted(set(resource_lines("danger.txt"))))


def danger_hits(docs: list[str]) -> np.ndarray:
    """True for documents that name an immediate danger of the lexicon."""
    return danger_counter().counts(docs).sum(axis=1) > 0


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float, min_rows: int = 20) -> float:
    """The lowest confidence above which the rows' precision is at least ``target`` (1.0 when none is)."""
    if len(confidence) == 0:
        return 0.0
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.flatnonzero((precision >= target) & (np.arange(1, len(order) + 1) >= min(min_rows, len(order))))
    if ok.size == 0:
        return 1.0
    last = ok.max()
    return 0.0 if last == len(order) - 1 else float(confidence[order][last])


def threshold_of(thresholds: dict, head: str, predicted: np.ndarray) -> np.ndarray:
    """The review threshold of every row: the head's number, or the one of the row's predicted label."""
    value = thresholds.get(head, 0.0)
    if isinstance(value, dict):
        return np.array([value.get(label, value.get("", 0.0)) for label in predicted], dtype=float)
    return np.full(len(predicted), float(value))


def review_values(decided, head: str) -> tuple[np.ndarray, np.ndarray]:
    """The label and confidence a head's review threshold applies to, per row of ``decided`` (a DataFrame or a
    dict of column arrays). A message screened 无效 has no department: it counts as ``无`` with its screening
    confidence; a row that was not routed has confidence 0."""
    predicted = np.asarray(decided[head], dtype=object)
    confidence = _numbers(decided[f"{head}_confidence"])
    if head == "department":
        predicted = np.where(predicted == "", NO_DEPARTMENT, predicted)
        if "screening_confidence" in decided:
            confidence = np.where(np.isnan(confidence), _numbers(decided["screening_confidence"]), confidence)
    return predicted, np.nan_to_num(confidence, nan=0.0)


def _numbers(column) -> np.ndarray:
    values = np.asarray(column, dtype=object)
    return np.array([float(v) if v != "" and v is not None else np.nan for v in values], dtype=float)


def review_heads(labels: dict) -> tuple[str, ...]:
    return tuple(h for h in DECISION_HEADS if h in labels) or tuple(labels)


def _renormalise(p: np.ndarray) -> np.ndarray:
    total = p.sum(axis=1, keepdims=True)
    return np.divide(p, total, out=np.zeros_like(p), where=total > 0)


def _top3(labels: list[str], p: np.ndarray, primary: np.ndarray) -> list[str]:
    """``部门:概率`` of the chosen department, then of the two most probable others (``无`` never listed).

    All three probabilities are the department head's (after the keyword rule), so they are comparable; the
    chosen department may differ from the head's argmax because of the screening decision.
    """
    others = p.copy()
    others[np.arange(len(p)), primary] = -1
    if NO_DEPARTMENT in labels:
        others[:, labels.index(NO_DEPARTMENT)] = -1
    order = np.argsort(-others, axis=1, kind="stable")[:, :2]
    return [
        "|".join([f"{labels[primary[i]]}:{p[i, primary[i]]:.3f}"] + [f"{labels[j]}:{p[i, j]:.3f}" for j in row if others[i, j] > 0])
        for i, row in enumerate(order)
    ]


def _department_for_screening(p: np.ndarray, labels: list[str], screening: np.ndarray, screening_confidence: np.ndarray):
    """Chosen department and its confidence given the screening decision.

    纪检监察 and 无效 fix the department (confidence = the screening confidence); otherwise the best department
    that is not reserved to a category (纪委监委, 无, and 信访局 outside 信访事项), renormalised.
    """
    allowed = p.copy()
    reserved = [labels.index(d) for d in [*LINKED.values(), PETITION_OFFICE] if d in labels]
    allowed[:, reserved] = 0.0
    if PETITION_OFFICE in labels:
        petition = screening == PETITION
        allowed[petition, labels.index(PETITION_OFFICE)] = p[petition, labels.index(PETITION_OFFICE)]
    allowed = _renormalise(allowed)
    primary = allowed.argmax(axis=1) if len(p) else np.zeros(0, dtype=int)
    confidence = allowed[np.arange(len(p)), primary]
    for category, department in LINKED.items():
        if department in labels:
            linked = screening == category
            primary[linked], confidence[linked] = labels.index(department), screening_confidence[linked]
    return primary, confidence


def _cue_rules(p: np.ndarray, names: list[str], docs: list[str], weight: float, keywords: np.ndarray | None,
               found: np.ndarray):
    """Screening probabilities after the cue rules (see the module docstring), and the rows made 无效 by a cue.

    ``found``: the bundled cue lexicon's hits of ``docs`` (``classifier.cues.cue_hits``)."""
    from classifier.cues import bundled_lexicon

    hits = np.zeros((len(docs), len(names)))
    for j, category in enumerate(bundled_lexicon().categories):
        if category in names:
            hits[:, names.index(category)] = found[:, j]
    p = keyword_boost(p, hits, weight)
    short = np.array([len(doc) <= SHORT_CHARS for doc in docs], dtype=bool)
    forced = np.full(len(docs), -1)
    for category in PRECEDENCE:
        if category in names:
            forced[short & (forced < 0) & (hits[:, names.index(category)] > 0)] = names.index(category)
    invalid = np.zeros(len(docs), dtype=bool)
    if INVALID in names:
        column = names.index(INVALID)
        others = np.delete(hits, column, axis=1).sum(axis=1)
        quiet = others == 0 if keywords is None else (others == 0) & (keywords.sum(axis=1) == 0)
        invalid = short & (forced < 0) & (hits[:, column] > 0) & quiet
        forced[invalid] = column
    rows = np.flatnonzero(forced >= 0)
    if rows.size:
        chosen = p[rows, forced[rows]]
        rest = p[rows].copy()
        rest[np.arange(rows.size), forced[rows]] = 0.0
        share = np.maximum(chosen, CUE_CONFIDENCE)
        p[rows] = _renormalise(rest) * (1 - share)[:, None]
        p[rows, forced[rows]] = share
    return p, invalid


def calibrate(confidence: np.ndarray, curve: dict | None) -> np.ndarray:
    """``confidence`` mapped through a calibration curve (``{"x": [...], "y": [...]}``, increasing ``x``):
    piecewise linear between its points, flat beyond them; unchanged without a curve."""
    if not curve:
        return confidence
    return np.interp(confidence, curve["x"], curve["y"])


def keyword_boost(p: np.ndarray, hits: np.ndarray, weight: float) -> np.ndarray:
    """Probabilities multiplied by ``exp(weight * min(hits, 3))`` and renormalised (catalogue keyword rule)."""
    if not weight:
        return p
    return _renormalise(p * np.exp(weight * np.minimum(hits, 3)))


def similarity_boost(p: np.ndarray, similarity: np.ndarray, weight: float) -> np.ndarray:
    """Probabilities multiplied by ``exp(weight * similarity)`` and renormalised (catalogue-similarity rule)."""
    if not weight:
        return p
    return _renormalise(p * np.exp(weight * similarity))


def _urgent_decision(p: np.ndarray, names: list[str], rule: dict, danger: np.ndarray | None):
    """``urgent``: 是 when its probability reaches the rule's threshold (chosen for recall) or the danger
    lexicon fires; the confidence is the probability of the chosen label (at least the lexicon's measured
    precision for a lexicon-made 是)."""
    yes = names.index(URGENT_YES)
    p_yes = p[:, yes].copy()
    if danger is not None and rule.get("lexicon_precision") is not None:
        p_yes[danger] = np.maximum(p_yes[danger], float(rule["lexicon_precision"]))
    chosen = (p_yes >= float(rule.get("threshold", 0.5))) | (danger if danger is not None else False)
    others = p.copy()
    others[:, yes] = -1
    best = np.where(chosen, yes, others.argmax(axis=1) if len(p) else 0)
    confidence = np.where(chosen, p_yes, p[np.arange(len(p)), best])
    return best, confidence


def decide(
    probs: dict[str, np.ndarray],
    labels: dict[str, list[str]],
    docs: list[str],
    *,
    thresholds: dict,
    rules: dict,
    keyword_hits: np.ndarray | None = None,
    catalogue_scores: np.ndarray | None = None,
    cue_counts: np.ndarray | None = None,
    danger: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Decisions for rows that reached the model (``docs`` normalised): output columns as arrays, a row each.

    ``rules``: ``keyword_weight`` (catalogue keyword boost), ``catalogue_weight`` (boost by
    ``catalogue_scores``, the similarity of each document to each department's responsibility text),
    ``cue_weight`` (screening cues; absent = the cue rules are off, as in models trained before them), for the
    ``urgent`` head ``urgent`` (``threshold`` on the probability of 是 and the danger lexicon's
    ``lexicon_precision``), and ``calibration``: per head, a monotone map (``x``, ``y`` points, fitted on
    validation rows) from the confidence of the final decision to the share of such decisions that were right
    (see ``calibrate``).

    ``cue_counts`` (``classifier.cues.cue_hits``) and ``danger`` (``danger_hits``) of ``docs`` are computed here
    when not given; training passes them to score many candidate rules on the same rows.
    """
    n = len(docs)
    out: dict[str, np.ndarray] = {}  # columns as arrays; one DataFrame at the end (pandas per column is slow)
    probs = {head: p.copy() for head, p in probs.items()}
    screening = probs.get("screening")
    department = probs.get("department")
    s_labels, d_labels = labels.get("screening", []), labels.get("department", [])
    weight = float(rules.get("keyword_weight") or 0.0)
    if department is not None and keyword_hits is not None and weight:
        department = probs["department"] = keyword_boost(department, keyword_hits, weight)
        if screening is not None:  # a screening category linked to a department is boosted by its hits
            hits = np.zeros((n, len(s_labels)))
            for category, linked in LINKED.items():
                if category in s_labels and linked in d_labels:
                    hits[:, s_labels.index(category)] = keyword_hits[:, d_labels.index(linked)]
            screening = probs["screening"] = keyword_boost(screening, hits, weight)
    similarity_weight = float(rules.get("catalogue_weight") or 0.0)
    if department is not None and catalogue_scores is not None and similarity_weight:
        department = probs["department"] = similarity_boost(department, catalogue_scores, similarity_weight)
    garbage = cue_invalid = np.zeros(n, dtype=bool)
    if screening is not None and "cue_weight" in rules and n:
        if cue_counts is None:
            from classifier.cues import cue_hits

            cue_counts = cue_hits(docs)
        screening, cue_invalid = _cue_rules(screening, s_labels, docs, float(rules["cue_weight"]), keyword_hits, cue_counts)
        probs["screening"] = screening
    if screening is not None and INVALID in s_labels:
        garbage = np.array([is_garbage(doc) for doc in docs], dtype=bool)
        if garbage.any():
            screening[garbage] = 0.0
            screening[garbage, s_labels.index(INVALID)] = 1.0
    for head, p in probs.items():
        if head == "department":
            continue
        names = labels[head]
        if head == URGENT and URGENT_YES in names and rules.get("urgent"):
            if danger is None and n:
                danger = danger_hits(docs)
            best, confidence = _urgent_decision(p, names, rules["urgent"], danger)
        else:
            best = p.argmax(axis=1) if n else np.zeros(0, dtype=int)
            confidence = p[np.arange(n), best] if n else np.zeros(0)
        out[head] = np.array(names, dtype=object)[best]
        out[f"{head}_confidence"] = np.round(confidence.astype(float), 4)
    if department is not None:
        primary = department.argmax(axis=1) if n else np.zeros(0, dtype=int)
        confidence = department[np.arange(n), primary]
        if screening is not None:
            primary, confidence = _department_for_screening(department, d_labels, out["screening"], out["screening_confidence"])
        out["department"] = np.array(d_labels, dtype=object)[primary]
        confidence = calibrate(confidence, rules.get("calibration", {}).get("department"))
        out["department_confidence"] = np.round(confidence.astype(float), 4).astype(object)
        out["department_top3"] = np.array(_top3(d_labels, department, primary), dtype=object)
        if screening is not None:
            no_department = out["screening"] == INVALID
            for column in ("department", "department_confidence", "department_top3"):
                out[column][no_department] = ""
    review = garbage | cue_invalid
    for head in review_heads(labels):
        if head in out:
            predicted, confidence = review_values(out, head)
            review |= confidence < threshold_of(thresholds, head, predicted)
    out["needs_review"] = review
    return out


def route_batch(model, titles: Sequence[object], texts: Sequence[object]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Output columns for one batch of rows, in order (decisions for usable rows, ``error: …`` for the rest),
    and the model's raw probabilities for the routable rows (in row order)."""
    return route_prepared(model, *prepare(titles, texts))


def route_prepared(model, docs: list[str], reasons: list[str | None]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """``route_batch`` for rows already through ``prepare``."""
    good = [i for i, reason in enumerate(reasons) if reason is None]
    columns = {name: np.full(len(docs), "", dtype=object) for name in output_columns(model.labels)}
    probs: dict[str, np.ndarray] = {}
    if good:
        good_docs = [docs[i] for i in good]
        probs = model.predict_proba(good_docs)
        decided = decide(probs, model.labels, good_docs, thresholds=model.thresholds, rules=model.rules,
                         keyword_hits=catalogue_hits(model, good_docs),
                         catalogue_scores=catalogue_similarity(model, good_docs))  # fmt: skip
        for name, values in decided.items():
            columns[name][good] = values
        columns["route_status"][good] = "ok"
    for i, reason in enumerate(reasons):
        if reason is not None:
            columns["route_status"][i] = f"error: {reason}"
            columns["needs_review"][i] = True
    columns["model_version"][:] = model.version
    return pd.DataFrame(columns), probs


def catalogue_hits(model, docs: list[str]) -> np.ndarray | None:
    """Catalogue keyword counts (documents x departments) when the model uses the keyword rule."""
    if not model.rules.get("keyword_weight") or model.catalogue is None or "department" not in model.labels:
        return None
    return model.catalogue.keyword_hits(docs, model.labels["department"])


def catalogue_similarity(model, docs: list[str]) -> np.ndarray | None:
    """Similarity of documents to each department's responsibility text when the model uses that rule (a city's
    additions to the learned catalogue count in full: ``Catalogue.similarity``)."""
    if not model.rules.get("catalogue_weight") or model.catalogue is None or "department" not in model.labels:
        return None
    return model.catalogue.similarity(docs, model.labels["department"], model.learned_catalogue)


def route_rows(model, titles: Sequence[object], texts: Sequence[object]) -> pd.DataFrame:
    """The output columns for one batch of rows, in order."""
    return route_batch(model, titles, texts)[0]
