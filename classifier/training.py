"""Training: split, fit the heads, tune rules and review thresholds on validation rows, refit, save."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.artifact import save_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.cues import cue_hits
from classifier.data import STANDARD_HEADS, catalogue_path, frame_hash, load_messages, message_docs, source_columns
from classifier.errors import ConfigError, InputError
from classifier.evaluate import score_decisions
from classifier.i18n import tr
from classifier.io.columns import show
from classifier.models import model_class
from classifier.groups import near_duplicate_groups
from classifier.router import (
    URGENT, URGENT_YES, check_text, choose_threshold, danger_hits, decide, prepare, review_heads, review_values,
    threshold_of,
)  # fmt: skip
from classifier.text import normalize

URGENT_MIN_THRESHOLD = 0.001
"""Lowest threshold on the probability of 是 the urgent rule may choose (a guard against a model whose 是
probabilities are all near zero; the target recall, not this floor, sets the threshold of the shipped model)."""
MIN_CALIBRATION_ROWS = 200
"""Validation rows with a department needed to fit the department's calibration curve."""
MIN_TITLE_CHARS = 6
"""Shortest title taken as a training row of its own (shorter ones say too little: "咨询", "投诉")."""
KEYWORD_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
CUE_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
CATALOGUE_WEIGHTS = (2.0, 4.0, 8.0)
"""Candidate weights of the catalogue-similarity rule (similarities are cosines in [0, 1]). Not 0: a catalogue a
city edits must move the router; tuning chooses how much (``catalogue_weight: 0`` in the config turns it off)."""
MIN_CLASS_ROWS = 20
"""Validation rows a predicted label needs for a review threshold of its own."""


@dataclass
class TrainResult:
    path: Path
    metrics: dict
    thresholds: dict[str, float]
    rows: int
    skipped_rows: int
    heads: list[str]
    validation_mask: np.ndarray | None = None
    """True for the rows of the given frame in the validation split."""
    group_metrics: dict | None = None
    """Validation metrics per group of rows (``train(groups=…)``), with the rules tuned on all validation rows."""


def resolve_heads(frame: pd.DataFrame, label_cols: Sequence[str]) -> list[str]:
    """The label columns to train: those asked for, or the standard heads the data has."""
    if label_cols:
        missing = [c for c in label_cols if c not in frame]
        if missing:
            found = show(source_columns(frame)[1])
            raise InputError(tr(f"训练数据中没有标签列 {missing}；文件的列为 {found}。",
                                f"Label column(s) {missing} not in the training data; found columns {found}."))
        return list(dict.fromkeys(label_cols))
    heads = [h for h in STANDARD_HEADS if h in frame and frame[h].ne("").any()]
    if not heads:
        found = show(source_columns(frame)[1])
        raise InputError(tr(
            f"没有找到标签列：应有 {list(STANDARD_HEADS)} 之一，或用 --label-col 指定；文件的列为 {found}。",
            f"No label column found: expected one of {list(STANDARD_HEADS)} or --label-col; found {found}.",
        ))
    return heads


def split_rows(frame: pd.DataFrame, heads: list[str], fraction: float, seed: int, groups: np.ndarray | None = None):
    """Train and validation row indices, stratified on the rarest-labelled head's labels.

    ``groups`` (near-duplicate groups, ``classifier.groups``) keeps every group on one side: whole groups are
    drawn, per label of their first row, until the label's share is held out; a label's last group always stays
    in training (a label made of one repeated message is learnt, not only tested).
    """
    rng = np.random.default_rng(seed)
    key = frame[min(heads, key=lambda h: (frame[h].ne("").sum(), h))].to_numpy()
    groups = np.arange(len(frame)) if groups is None else np.asarray(groups)
    _, first, size = np.unique(groups, return_index=True, return_counts=True)
    held = []
    for value in pd.unique(key):
        mine = np.flatnonzero(key[first] == value)
        rng.shuffle(mine)
        wanted, taken = int(round(np.count_nonzero(key == value) * fraction)), 0
        for g in mine[:-1]:
            if taken >= wanted:
                break
            held.append(g)
            taken += size[g]
    held_groups = np.unique(groups[first[held]]) if held else np.zeros(0, dtype=groups.dtype)
    valid = np.flatnonzero(np.isin(groups, held_groups))
    return np.setdiff1d(np.arange(len(frame)), valid), valid


def metrics_line(head: str, m: dict) -> str:
    """One head's validation figures as people read them (training, ``train`` and ``adapt`` print it)."""
    if m.get("accuracy") is None:
        return tr(f"{head}：没有验证行（每个标签只有一组近似重复的留言，都留作训练）",
                  f"{head}: no validation rows (each label has a single group of near-copies, kept for training)")  # fmt: skip
    return tr(f"{head}：准确率 {m['accuracy']}，宏平均 F1 {m['macro_f1']}，前三命中率 {m['top3_accuracy']}",
              f"{head}: accuracy {m['accuracy']}, macro-F1 {m['macro_f1']}, top-3 {m['top3_accuracy']}")  # fmt: skip


def title_rows(frame: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The rows among ``rows`` whose title can stand alone as a one-line ticket, and those titles normalised."""
    chosen, docs = [], []
    for i in rows:
        title, text = frame.at[i, "title"], frame.at[i, "text"]
        if text and check_text("", title) is None and len(title) >= MIN_TITLE_CHARS:
            chosen.append(i)
            docs.append(normalize(title))
    return np.array(chosen, dtype=int), docs


def _fit(config: TrainConfig, docs: list[str], targets: dict[str, np.ndarray], vocabulary_docs: Sequence[str],
         sample_weight: np.ndarray | None = None, groups: np.ndarray | None = None):  # fmt: skip
    kind = model_class(config.model)
    extra = {} if sample_weight is None else {"sample_weight": sample_weight}
    if groups is not None and kind.supports_groups:
        extra["groups"] = groups
    return kind(config).fit(docs, targets, vocabulary_docs=vocabulary_docs, **extra)


def _with_titles(config: TrainConfig, frame: pd.DataFrame, docs: list[str], targets: dict, rows: np.ndarray,
                 weights: np.ndarray | None, groups: np.ndarray):
    """Documents, targets, sample weights and near-copy groups of ``rows``, followed (``config.title_examples``)
    by their titles as rows of their own, with their messages' labels, weights and groups."""
    extra, titles = title_rows(frame, rows) if config.title_examples else (np.zeros(0, dtype=int), [])
    every = np.concatenate([rows, extra]).astype(int)
    return ([docs[i] for i in rows] + titles, {h: t[every] for h, t in targets.items()},
            None if weights is None else weights[every], groups[every])


def _thresholds(decided: pd.DataFrame, truth: pd.DataFrame, labels: dict, target: float) -> dict[str, dict[str, float]]:
    """Review thresholds per head and predicted label, for ``target`` precision on the validation rows.

    A label predicted on fewer than ``MIN_CLASS_ROWS`` validation rows gets the head's threshold (key ``""``).
    """
    thresholds = {}
    for head in review_heads(labels):
        gold = truth[head].to_numpy(dtype=object) if head in truth else np.array([""] * len(decided), dtype=object)
        rows = np.flatnonzero(gold != "")
        if head not in decided or rows.size == 0:
            continue
        predicted, confidence = (values[rows] for values in review_values(decided, head))
        correct = predicted == gold[rows]
        per_label = {"": round(choose_threshold(confidence, correct, target), 4)}
        for label in np.unique(predicted):
            mine = predicted == label
            if mine.sum() >= MIN_CLASS_ROWS:
                per_label[str(label)] = round(choose_threshold(confidence[mine], correct[mine], target), 4)
        thresholds[head] = per_label
    return thresholds


def _urgent_rule(probs: dict, labels: dict, docs: list[str], truth: pd.DataFrame, recall: float,
                 extra: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 danger: np.ndarray | None = None) -> dict | None:
    """The ``urgent`` rule: the danger lexicon's precision and the highest threshold on the probability of 是
    that, with the lexicon, reaches ``recall`` of 是 (recall is favoured: a missed emergency costs more than a
    false alarm), but not under ``URGENT_MIN_THRESHOLD``.

    The threshold and the lexicon's precision are chosen on the validation rows together with ``extra`` rows
    (probability of 是, is 是, lexicon hit): the training messages' out-of-fold probabilities, when the model kind
    has them, which hold several times as many 是 as the validation rows and steady the choice. The recall and
    precision of 是 and the share of messages flagged 是 are measured on the validation rows alone.
    ``danger``: the danger lexicon's hits of ``docs``, computed when not given."""
    if URGENT not in probs or URGENT_YES not in labels[URGENT] or URGENT not in truth:
        return None
    gold = truth[URGENT].to_numpy(dtype=object)
    rows = np.flatnonzero(gold != "")
    positive = gold[rows] == URGENT_YES
    danger = danger_hits([docs[i] for i in rows]) if danger is None else danger[rows]
    p_yes = probs[URGENT][rows, labels[URGENT].index(URGENT_YES)]
    every_p, every_positive, every_danger = p_yes, positive, danger
    if extra is not None:
        every_p, every_positive, every_danger = (np.concatenate(pair) for pair in zip((p_yes, positive, danger), extra))
    precision = float(every_positive[every_danger].mean()) if every_danger.any() else None
    threshold = 0.5
    if every_positive.any():
        for candidate in np.unique(np.round(every_p, 4))[::-1]:
            threshold = float(candidate)
            if ((every_p >= candidate) | every_danger)[every_positive].mean() >= recall:
                break
    threshold = min(max(threshold, URGENT_MIN_THRESHOLD), 0.5)
    flagged = (p_yes >= threshold) | danger
    return {
        "threshold": round(threshold, 4),
        "lexicon_precision": None if precision is None else round(precision, 4),
        "chosen_on": {"rows": len(every_p), "urgent": int(every_positive.sum()),
                      "recall": round(float(((every_p >= threshold) | every_danger)[every_positive].mean()), 4)
                      if every_positive.any() else None},
        "validation_recall": round(float(flagged[positive].mean()), 4) if positive.any() else None,
        "validation_precision": round(float(positive[flagged].mean()), 4) if flagged.any() else None,
        "validation_flagged_share": round(float(flagged.mean()), 4) if len(flagged) else None,
    }


def _out_of_fold_urgent(model, docs: list[str], targets: dict, messages: int):
    """Probability of 是, is 是 and lexicon hit of the first ``messages`` fitted documents (the messages, not
    their title rows) from the model's out-of-fold probabilities of ``urgent``; None when it has none."""
    found = model.cross_validated_proba(URGENT) if URGENT in targets else None
    if found is None or URGENT_YES not in model.labels[URGENT]:
        return None
    rows, proba = found
    keep = rows < messages
    rows, proba = rows[keep], proba[keep]
    gold = np.asarray(targets[URGENT], dtype=object)[rows]
    return proba[:, model.labels[URGENT].index(URGENT_YES)], gold == URGENT_YES, danger_hits([docs[i] for i in rows])


def _calibration_curve(decided: pd.DataFrame, truth: pd.DataFrame) -> dict | None:
    """Isotonic map from the department decision's confidence to its accuracy on the validation rows (the
    consistency rules and the keyword boost leave the head's calibrated probabilities over-confident)."""
    if "department" not in decided or "department" not in truth:
        return None
    from sklearn.isotonic import IsotonicRegression

    gold = truth["department"].to_numpy(dtype=object)
    rows = np.flatnonzero((gold != "") & decided["department"].ne("").to_numpy())
    if rows.size < MIN_CALIBRATION_ROWS:
        return None
    confidence = pd.to_numeric(decided["department_confidence"].iloc[rows]).to_numpy(dtype=float)
    correct = (decided["department"].to_numpy(dtype=object)[rows] == gold[rows]).astype(float)
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(confidence, correct)
    return {"x": [round(float(v), 5) for v in fitted.X_thresholds_], "y": [round(float(v), 5) for v in fitted.y_thresholds_]}


def _rule_inputs(catalogue: Catalogue | None, docs: list[str], labels: dict,
                 learned: Catalogue | None = None) -> dict[str, np.ndarray | None]:  # fmt: skip
    """What the router's rules read from ``docs``, as keyword arguments of ``decide``, computed once so that
    every candidate rule is scored without matching the lexicons again: catalogue keyword hits and similarity
    to the responsibility texts (None without catalogue or department; ``learned``: see ``Catalogue.similarity``),
    screening cue hits and danger hits."""
    inputs = {"keyword_hits": None, "catalogue_scores": None, "cue_counts": None, "danger": None}
    if catalogue is not None and "department" in labels:
        inputs["keyword_hits"] = catalogue.keyword_hits(docs, labels["department"])
        inputs["catalogue_scores"] = catalogue.similarity(docs, labels["department"], learned)
    if "screening" in labels:
        inputs["cue_counts"] = cue_hits(docs)
    if URGENT in labels:
        inputs["danger"] = danger_hits(docs)
    return inputs


def _decisions(probs: dict, labels: dict, docs: list[str], rules: dict, inputs: dict) -> pd.DataFrame:
    """The router's decisions on validation rows (all routed), without review thresholds."""
    decided = pd.DataFrame(decide(probs, labels, docs, thresholds={}, rules=rules, **inputs))
    decided["route_status"] = "ok"
    return decided


def tune_and_score(model, docs: list[str], truth: pd.DataFrame, config: TrainConfig, catalogue: Catalogue | None,
                   urgent_evidence: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """Rules (keyword, catalogue-similarity and cue weights, urgent rule), review thresholds and metrics from
    validation rows (``urgent_evidence``: more rows for the urgent rule, see ``_urgent_rule``).

    The decisions are made by the router itself (``classifier.router.decide``), with the candidate rules.
    """
    probs = model.predict_proba(docs)
    scores, thresholds, rules, _ = _tune(probs, model.labels, docs, truth, config,
                                         _rule_inputs(catalogue, docs, model.labels), urgent_evidence)  # fmt: skip
    return scores, thresholds, rules


def _tune(probs: dict, labels: dict, docs: list[str], truth: pd.DataFrame, config: TrainConfig, inputs: dict,
          urgent_evidence: tuple[np.ndarray, np.ndarray, np.ndarray] | None):
    """``tune_and_score`` on the model's probabilities and the rules' inputs (``_rule_inputs``) of ``docs``;
    also returns the decisions with the rules chosen."""
    weights, similarity_weights = [0.0], [0.0]
    if inputs["keyword_hits"] is not None:
        weights = [config.keyword_weight] if config.keyword_weight is not None else list(KEYWORD_WEIGHTS)
        similarity_weights = [config.catalogue_weight] if config.catalogue_weight is not None else list(CATALOGUE_WEIGHTS)
    cue_weights = [None]
    if "screening" in labels:
        cue_weights = [config.cue_weight] if config.cue_weight is not None else list(CUE_WEIGHTS)
    rules: dict = {}
    urgent = _urgent_rule(probs, labels, docs, truth, config.urgent_recall, urgent_evidence, inputs["danger"])
    if urgent is not None:
        rules["urgent"] = urgent
    best = None
    for weight, similarity_weight, cue_weight in itertools.product(weights, similarity_weights, cue_weights):
        candidate = {**rules, "keyword_weight": weight, "catalogue_weight": similarity_weight}
        if cue_weight is not None:
            candidate["cue_weight"] = cue_weight
        decided = _decisions(probs, labels, docs, candidate, inputs)
        scores = score_decisions(decided, probs, truth, labels)["heads"]
        key = sum(scores[h][m] or 0.0 for h, m in (("department", "accuracy"), ("screening", "macro_f1")) if h in scores)
        if best is None or key > best[0] + 1e-9:
            best = (key, candidate, decided, scores)
    _, rules, decided, scores = best
    curve = _calibration_curve(decided, truth)
    if curve is not None:
        rules["calibration"] = {"department": curve}
        decided = _decisions(probs, labels, docs, rules, inputs)
    thresholds = _thresholds(decided, truth, labels, config.review_precision)
    kept = np.ones(len(decided), dtype=bool)
    for head, per_label in thresholds.items():
        predicted, confidence = review_values(decided, head)
        kept &= confidence >= threshold_of(thresholds, head, predicted)
    for head in thresholds:
        if head in scores:
            scores[head]["auto_routed_share"] = round(float(kept.mean()), 4)
    return scores, thresholds, rules, decided


def _group_scores(decided: pd.DataFrame, probs: dict, truth: pd.DataFrame, labels: dict, mask: np.ndarray) -> dict:
    """Per-head metrics of the validation decisions on the rows of ``mask`` (one group of ``train(groups=…)``)."""
    rows = np.flatnonzero(mask)
    return score_decisions(decided.iloc[rows].reset_index(drop=True), {head: p[rows] for head, p in probs.items()},
                           truth.iloc[rows].reset_index(drop=True), labels)["heads"]  # fmt: skip


def usable_rows(frame: pd.DataFrame, heads: list[str]) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """The rows training uses (a usable text or title, at least one label), their normalised documents, and
    the mask of those rows in ``frame``."""
    frame = frame.fillna("").astype(str).reset_index(drop=True)
    has_text = frame["text"].ne("")
    docs, reasons = prepare(frame["title"].where(has_text, "").tolist(), frame["text"].where(has_text, frame["title"]).tolist())
    usable = np.array([r is None for r in reasons], dtype=bool) & frame[heads].ne("").any(axis=1).to_numpy()
    return frame[usable].reset_index(drop=True), [d for d, ok in zip(docs, usable) if ok], usable


def train(
    frame: pd.DataFrame,
    out: str | Path,
    config: TrainConfig,
    *,
    vocabulary_docs: Sequence[str] = (),
    catalogue: Catalogue | None = None,
    learned_catalogue: Catalogue | None = None,
    data_files: Sequence[str] = (),
    progress: Callable[[str], None] = lambda message: None,
    sample_weight: Sequence[float] | None = None,
    groups: Sequence[str] | None = None,
    record: dict | None = None,
) -> TrainResult:
    """Train a model on ``frame`` (message schema + label columns) and save it to ``out``.

    ``sample_weight`` (one per row of ``frame``) weighs rows in the loss (model kinds that support it);
    ``groups`` (one name per row) adds validation metrics per group. ``learned_catalogue``: the catalogue the
    carried rule weights were tuned with, when ``catalogue`` replaces it (``adapt``). ``record`` adds fields to the metadata's
    ``training_data``. The artifact records how to rebuild its training data (for ``adapt``): with
    ``record={"source": "bundled"}``, ``frame`` is ``classifier.data.training_frame()``; otherwise the rows used
    are stored in the artifact (``training_data.csv.gz``, with a ``weight`` column when weighted), followed by
    the ``vocabulary_docs`` as rows without labels.
    """
    heads = resolve_heads(frame, config.label_cols)
    if sample_weight is not None and len(sample_weight) != len(frame):
        raise InputError(tr(f"sample_weight 有 {len(sample_weight)} 个值，但有 {len(frame)} 行：应每行一个。",
                            f"sample_weight has {len(sample_weight)} values for {len(frame)} rows: expected one per row."))
    frame, docs, usable = usable_rows(frame, heads)
    skipped = int((~usable).sum())
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[usable]
    if weights is not None and not model_class(config.model).supports_sample_weight:
        raise ConfigError(tr(f"{config.model} 模型不能用样本权重训练：请使用线性模型（linear）。",
                             f"A {config.model} model cannot be trained with sample weights; use a linear model."))
    if len(frame) < 4:
        raise InputError(tr(f"可用的训练行太少（{len(frame)} 行）：每行应有正文和至少一个标签。",
                            f"Too few usable training rows ({len(frame)}): need text and at least one label per row."))
    copies = near_duplicate_groups(docs)
    train_rows, valid_rows = split_rows(frame, heads, config.validation_fraction, config.seed, copies)
    targets = {h: frame[h].to_numpy(dtype=object) for h in heads}
    joined = len(docs) - len(np.unique(copies))
    progress(tr(f"训练 {config.model} 模型（{'、'.join(heads)}）：训练 {len(train_rows)} 行，验证 {len(valid_rows)} 行"
                f"（近似重复的留言不拆到训练集和验证集两边：{joined} 行与其他行合组）",
                f"training {config.model} heads {heads} on {len(train_rows)} rows, validating on {len(valid_rows)} "
                f"(near-copies kept on one side: {joined} rows joined to another)"))  # fmt: skip
    fit_docs, fit_targets, fit_weights, fit_groups = _with_titles(config, frame, docs, targets, train_rows, weights, copies)
    model = _fit(config, fit_docs, fit_targets, vocabulary_docs, fit_weights, fit_groups)
    valid_docs, truth = [docs[i] for i in valid_rows], frame.iloc[valid_rows].reset_index(drop=True)
    probs = model.predict_proba(valid_docs)
    metrics, thresholds, rules, decided = _tune(
        probs, model.labels, valid_docs, truth, config, _rule_inputs(catalogue, valid_docs, model.labels, learned_catalogue),
        urgent_evidence=_out_of_fold_urgent(model, fit_docs, fit_targets, len(train_rows)),
    )
    for head, m in metrics.items():
        progress(tr("验证 ", "validation ") + metrics_line(head, m))
    group_metrics = None
    if groups is not None:
        in_split = np.asarray(groups, dtype=object)[usable][valid_rows]
        group_metrics = {str(name): _group_scores(decided, probs, truth, model.labels, in_split == name)
                         for name in pd.unique(in_split)}  # fmt: skip
    if config.refit_full:
        progress(tr("在全部行上重新训练", "refitting on all rows"))
        everything = np.arange(len(frame))
        fit_docs, fit_targets, fit_weights, fit_groups = _with_titles(config, frame, docs, targets, everything, weights, copies)
        model = _fit(config, fit_docs, fit_targets, vocabulary_docs, fit_weights, fit_groups)
    training_data = {
        "sha256": frame_hash(frame[["title", "text", *heads]]),
        "rows": len(frame),
        "skipped_rows": skipped,
        "files": [Path(f).name for f in data_files],
        "validation_rows": len(valid_rows),
        "metrics_on": "validation split, before the refit on all rows" if config.refit_full else "validation split",
        "source": "stored",
        **(record or {}),
    }
    stored = None
    if training_data["source"] != "bundled":
        stored = frame.reindex(columns=["id", "title", "text", *heads], fill_value="")
        if weights is not None:
            stored["weight"] = weights
        stored = pd.concat([stored, pd.DataFrame({"text": list(vocabulary_docs)})], ignore_index=True)
        stored = stored.fillna({column: "" for column in stored.columns if column != "weight"})
    path = save_model(model, out, config=config, catalogue=catalogue, learned_catalogue=learned_catalogue,
                      training_data=training_data,
                      metrics={"validation": metrics, **({"validation_groups": group_metrics} if group_metrics else {})},
                      thresholds=thresholds, rules=rules, training_docs=docs, training_frame=stored)  # fmt: skip
    validation_mask = np.zeros(len(usable), dtype=bool)
    validation_mask[np.flatnonzero(usable)[valid_rows]] = True
    return TrainResult(path, metrics, thresholds, len(frame), skipped, heads, validation_mask, group_metrics)


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
        raise InputError(tr("没有提供训练数据：请至少用 --data FILE 指定一个文件。", "No training data given: pass at least one --data FILE."))
    columns = {"text_col": config.text_col, "title_col": config.title_col}
    frame = pd.concat([load_messages(p, **columns) for p in data], ignore_index=True).fillna("").astype(str)
    vocabulary = [doc for path in unlabelled for doc in message_docs(load_messages(path, **columns))]
    chosen = Path(catalogue) if catalogue else (catalogue_path() if catalogue_path().exists() else None)
    return train(frame, out, config, vocabulary_docs=vocabulary, catalogue=Catalogue.load(chosen) if chosen else None,
                 data_files=[str(p) for p in data], progress=progress)  # fmt: skip
