"""Training: split, fit the heads, tune rules and review thresholds on validation rows, refit, save."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.artifact import load_model, save_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import STANDARD_HEADS, catalogue_path, frame_hash, load_messages, message_docs
from classifier.evaluate import score_decisions
from classifier.router import REVIEW_HEADS, choose_threshold, decide, prepare

KEYWORD_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


@dataclass
class TrainResult:
    path: Path
    metrics: dict
    thresholds: dict[str, float]
    rows: int
    skipped_rows: int
    heads: list[str]


def resolve_heads(frame: pd.DataFrame, label_cols: Sequence[str]) -> list[str]:
    """The label columns to train: those asked for, or the standard heads the data has."""
    if label_cols:
        missing = [c for c in label_cols if c not in frame]
        if missing:
            raise ValueError(f"Label column(s) {missing} not in the training data; found columns {list(frame.columns)}.")
        return list(dict.fromkeys(label_cols))
    heads = [h for h in STANDARD_HEADS if h in frame and frame[h].ne("").any()]
    if not heads:
        raise ValueError(
            f"No label column found: expected one of {list(STANDARD_HEADS)} or --label-col; found {list(frame.columns)}."
        )
    return heads


def split_rows(frame: pd.DataFrame, heads: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices, stratified on the rarest-labelled head's labels."""
    rng = np.random.default_rng(seed)
    key = frame[min(heads, key=lambda h: (frame[h].ne("").sum(), h))].to_numpy()
    held = []
    for value in pd.unique(key):
        rows = np.flatnonzero(key == value)
        rng.shuffle(rows)
        held.extend(rows[: int(round(len(rows) * fraction))])
    held = np.sort(np.array(held, dtype=int))
    return np.setdiff1d(np.arange(len(frame)), held), held


def _fit(config: TrainConfig, docs: list[str], targets: dict[str, np.ndarray], vocabulary_docs: Sequence[str]):
    if config.model == "linear":
        from classifier.linear import LinearModel

        return LinearModel(config).fit(docs, targets, vocabulary_docs)
    if config.model == "bert":
        from classifier.bert import BertModel

        return BertModel(config).fit(docs, targets)
    from classifier.ensemble import EnsembleModel

    return EnsembleModel.from_models(config, load_model(config.linear_model), load_model(config.bert_model))


def _confidence(decided: pd.DataFrame, head: str) -> np.ndarray:
    """A head's decision confidences; a message screened 无效 has no department, its screening confidence stands in."""
    confidence = pd.to_numeric(decided[f"{head}_confidence"], errors="coerce")
    if head == "department" and "screening_confidence" in decided:
        confidence = confidence.fillna(decided["screening_confidence"].astype(float))
    return confidence.fillna(0.0).to_numpy(dtype=float)


def tune_and_score(model, docs: list[str], truth: pd.DataFrame, config: TrainConfig, catalogue: Catalogue | None):
    """Keyword weight, review thresholds and metrics from validation rows."""
    probs = model.predict_proba(docs)
    labels = model.labels
    hits = None
    weights = [0.0]
    if catalogue is not None and "department" in labels:
        hits = catalogue.keyword_hits(docs, labels["department"])
        weights = [config.keyword_weight] if config.keyword_weight is not None else list(KEYWORD_WEIGHTS)
    best = None
    for weight in weights:
        decided = decide(probs, labels, docs, thresholds={}, keyword_hits=hits, keyword_weight=weight)
        decided["route_status"] = "ok"
        scores = score_decisions(decided, probs, truth, labels)["heads"]
        key = sum(scores[h][m] or 0.0 for h, m in (("department", "accuracy"), ("screening", "macro_f1")) if h in scores)
        if best is None or key > best[0] + 1e-9:
            best = (key, weight, decided, scores)
    _, weight, decided, scores = best
    thresholds = {}
    for head in labels:
        gold = truth[head].to_numpy() if head in truth else np.array([""] * len(docs))
        rows = np.flatnonzero(gold != "")
        if head not in decided or rows.size == 0:
            continue
        predicted = decided[head].to_numpy()[rows]
        if head == "department":
            predicted = np.where(predicted == "", "无", predicted)
        confidence = _confidence(decided, head)[rows]
        thresholds[head] = round(choose_threshold(confidence, predicted == gold[rows], config.review_precision), 4)
    for head in thresholds:
        if head in scores:
            review_set = REVIEW_HEADS if set(REVIEW_HEADS) & set(labels) else tuple(labels)
            if head in review_set:
                kept = _confidence(decided, head) >= thresholds[head]
                scores[head]["auto_routed_share"] = round(float(kept.mean()), 4)
    return scores, thresholds, {"keyword_weight": weight}


def train(
    frame: pd.DataFrame,
    out: str | Path,
    config: TrainConfig,
    *,
    vocabulary_docs: Sequence[str] = (),
    catalogue: Catalogue | None = None,
    data_files: Sequence[str] = (),
    progress: Callable[[str], None] = lambda message: None,
) -> TrainResult:
    """Train a model on ``frame`` (message schema + label columns) and save it to ``out``."""
    heads = resolve_heads(frame, config.label_cols)
    frame = frame.fillna("").astype(str).reset_index(drop=True)
    has_text = frame["text"].ne("")
    docs, reasons = prepare(frame["title"].where(has_text, "").tolist(), frame["text"].where(has_text, frame["title"]).tolist())
    usable = np.array([r is None for r in reasons]) & frame[heads].ne("").any(axis=1).to_numpy()
    skipped = int((~usable).sum())
    frame = frame[usable].reset_index(drop=True)
    docs = [d for d, ok in zip(docs, usable) if ok]
    if len(frame) < 4:
        raise ValueError(f"Too few usable training rows ({len(frame)}): need text and at least one label per row.")
    train_rows, valid_rows = split_rows(frame, heads, config.validation_fraction, config.seed)
    targets = {h: frame[h].to_numpy(dtype=object) for h in heads}
    progress(f"training {config.model} heads {heads} on {len(train_rows)} rows, validating on {len(valid_rows)}")
    model = _fit(config, [docs[i] for i in train_rows], {h: t[train_rows] for h, t in targets.items()}, vocabulary_docs)
    if config.model == "ensemble":  # the two parts are trained already: tune their per-head weights here
        model.tune([docs[i] for i in valid_rows], {h: t[valid_rows] for h, t in targets.items()})
        progress(f"ensemble weights of the linear model per head: {model.weights_}")
    metrics, thresholds, rules = tune_and_score(
        model, [docs[i] for i in valid_rows], frame.iloc[valid_rows].reset_index(drop=True), config, catalogue
    )
    for head, m in metrics.items():
        progress(f"validation {head}: accuracy {m['accuracy']}, macro-F1 {m['macro_f1']}, top-3 {m['top3_accuracy']}")
    if config.refit_full and config.model != "ensemble":
        progress("refitting on all rows")
        model = _fit(config, docs, targets, vocabulary_docs)
    training_data = {
        "sha256": frame_hash(frame[["title", "text", *heads]]),
        "rows": len(frame),
        "skipped_rows": skipped,
        "files": [Path(f).name for f in data_files],
        "validation_rows": len(valid_rows),
        "metrics_on": "validation split, before the refit on all rows" if config.refit_full else "validation split",
    }
    path = save_model(model, out, config=config, catalogue=catalogue, training_data=training_data,
                      metrics={"validation": metrics}, thresholds=thresholds, rules=rules)  # fmt: skip
    return TrainResult(path, metrics, thresholds, len(frame), skipped, heads)


def train_files(
    data: Sequence[str | Path],
    out: str | Path,
    config: TrainConfig,
    *,
    unlabelled: Sequence[str | Path] = (),
    catalogue: str | Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> TrainResult:
    """``train`` on labelled files (any supported format); ``unlabelled`` files only extend the vocabulary.

    The department catalogue is ``catalogue`` or, when not given, the bundled ``data/departments.json``.
    """
    if not data:
        raise ValueError("No training data given: pass at least one --data FILE.")
    columns = {"text_col": config.text_col, "title_col": config.title_col}
    frame = pd.concat([load_messages(p, **columns) for p in data], ignore_index=True).fillna("").astype(str)
    vocabulary = [doc for path in unlabelled for doc in message_docs(load_messages(path, **columns))]
    chosen = Path(catalogue) if catalogue else (catalogue_path() if catalogue_path().exists() else None)
    return train(frame, out, config, vocabulary_docs=vocabulary, catalogue=Catalogue.load(chosen) if chosen else None,
                 data_files=[str(p) for p in data], progress=progress)  # fmt: skip
