"""Adapting a model to a new city: its own training data plus the city's labelled rows, weighted, trained again.

The old model records where its training data came from (``metadata.json`` ``training_data.source``):
``bundled`` (the shipped model: ``classifier.data.training_frame()``, checked against the recorded SHA-256) or
``stored`` (a model trained on a user's files keeps its training rows in ``training_data.csv.gz``, followed by
its vocabulary texts as rows without labels). A model of an older release that records neither is recognised as
bundled when the hash matches the bundled data.

The new model has the same heads, settings, seed, artifact format and rule weights (keyword, catalogue
similarity and screening cues, kept from the old model: tuned again on a re-drawn validation split they move
accuracy by a point or two either way, more than a hundred labels do). It is trained by
``classifier.training.train`` (validation split, review thresholds, calibration and the urgent rule tuned again,
refit on all rows) on the old rows plus the city's rows, each city row weighing ``weight`` times an old one in
the loss (LinearSVC sample weights: a hundred rows at the default weight 5 count like five hundred old ones), so
that a few labels move the model. The city's rows are stored in the new model with their weight, so it can be
adapted again. The old model is not modified.

Only model kinds that take sample weights (the linear model) can be adapted: a BERT model is trained again with
``train --model bert`` on the old data plus the new rows, and an ensemble is rebuilt from an adapted linear part.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.artifact import TRAINING_DATA, RoutingModel, load_model
from classifier.catalogue import Catalogue
from classifier.data import SCHEMA, frame_hash, load_messages, message_docs, no_label_columns, training_frame, unlabelled_texts
from classifier.errors import InputError, ModelError
from classifier.evaluate import evaluate
from classifier.i18n import tr
from classifier.training import train, usable_rows

DEFAULT_WEIGHT = 5.0
"""How many old rows one of the city's labelled rows weighs (``--weight``)."""
NEW, OLD = "new", "old"
CARRIED_RULES = ("keyword_weight", "catalogue_weight", "cue_weight")
"""Rule weights the new model keeps from the old one instead of tuning them again."""


@dataclass
class AdaptResult:
    path: Path
    metrics: dict
    """Validation metrics of the new model per head (all validation rows, old and new)."""
    new_rows: dict
    """On the city's rows of the validation split: ``rows`` and, per head, the old and the new model's metrics."""
    added: int
    replaced: int
    unlabelled: int
    new_labels: dict[str, list[str]]
    weight: float
    warnings: list[str]


def base_training_data(model: RoutingModel) -> tuple[pd.DataFrame, list[str]]:
    """The rows ``model`` was trained on (message columns, its heads, ``weight``) and its vocabulary texts."""
    record = model.metadata.get("training_data", {})
    heads = model.heads
    source = record.get("source")
    if source == "stored" and TRAINING_DATA in model.metadata.get("files", {}):
        frame = pd.read_csv(model.path / TRAINING_DATA, dtype=str, keep_default_na=False)
        frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").fillna(1.0) if "weight" in frame else 1.0
        labelled = frame[[h for h in heads if h in frame]].ne("").any(axis=1)
        return frame[labelled].reset_index(drop=True), message_docs(frame[~labelled])
    if source in (None, "bundled"):
        frame = training_frame()
        bundled = usable_rows(frame, heads)[0] if set(heads) <= set(frame.columns) else None
        if bundled is not None and frame_hash(bundled[["title", "text", *heads]]) == record.get("sha256"):
            return bundled.assign(weight=1.0), message_docs(unlabelled_texts())
        if source == "bundled":
            raise ModelError(tr(
                f"{model.path} 是用另一版本 complaint-router 自带的数据训练的（其数据哈希与现在安装的自带数据不同）："
                "请用那个版本做适配，或用本版本重新训练。",
                f"{model.path} was trained on the bundled data of another complaint-router release (its data hash "
                "differs from the bundled data now installed): adapt it with that release, or retrain it with this one.",
            ))
    raise ModelError(tr(
        f"{model.path} 没有记录训练数据（由旧版本训练，或缺少 {TRAINING_DATA}）："
        "请先用本版本 complaint-router 重新训练，再对新模型做适配。",
        f"{model.path} does not record its training data (trained by an older release, or its "
        f"{TRAINING_DATA} is missing): retrain it with this release of complaint-router, then adapt the new model.",
    ))


def check_labels(frame: pd.DataFrame, model: RoutingModel, allow_new_labels: bool) -> tuple[list[str], dict[str, list[str]]]:
    """The model's heads the labelled rows have, and the labels new to the model per head.

    Raises ``InputError`` when the rows have none of the heads, no label at all, or (unless ``allow_new_labels``)
    labels the model does not know.
    """
    heads = [h for h in model.heads if h in frame]
    if not heads:
        raise no_label_columns(frame, list(model.heads))
    if not frame[heads].ne("").any(axis=None):
        raise InputError(tr(
            f"标注文件中没有任何标签：列 {heads} 全为空。请填写人工核对过的行"
            "（suggest 写出的文件：填写 department 和 screening 列）。",
            f"The labelled file has no labels at all: its columns {heads} are empty. Fill in the rows a person "
            "checked (for a file written by suggest: the department and screening columns).",
        ))
    unknown = {}
    for head in heads:
        values = frame[head][frame[head].ne("")]
        new = sorted(set(values) - set(model.labels[head]))
        if new:
            unknown[head] = new
    if unknown and not allow_new_labels:
        semicolon, colon, comma = tr("；", "; "), tr("：", ": "), tr("、", ", ")
        rows = tr("{label}（{n} 行）", "{label} ({n} rows)")
        listed = semicolon.join(
            f"{head}{colon}" + comma.join(rows.format(label=label, n=int(frame[head].eq(label).sum())) for label in labels)
            for head, labels in unknown.items()
        )
        known = semicolon.join(f"{head}{colon}{comma.join(model.labels[head])}" for head in unknown)
        raise InputError(tr(
            f"有不在模型标签集中的标签：{listed}。模型已有的标签为 {known}。请改正，"
            "或加 --allow-new-labels 把它们作为新类别。",
            f"Labels not in the model's label set: {listed}. The model knows {known}. Correct them, or pass "
            "--allow-new-labels to add them as new classes.",
        ))
    return heads, unknown


def combine(old: pd.DataFrame, new: pd.DataFrame, heads: list[str], weight: float) -> tuple[pd.DataFrame, int, list[str]]:
    """Old rows plus new rows (column ``origin``: old/new); an old row with the text of a new row is replaced.

    Returns the combined rows, how many old rows were replaced, and warnings (ids shared by other messages, texts
    repeated within the new rows: the last one is kept).
    """
    notes = []
    new_docs = message_docs(new)
    repeated = pd.Series(new_docs).duplicated(keep="last").to_numpy()
    if repeated.any():
        notes.append(tr(f"标注文件中有 {int(repeated.sum())} 行与后面的行文本相同：采用后面那行的标签。",
                           f"{int(repeated.sum())} labelled rows repeat the text of a later row: the later row's labels are used."))  # fmt: skip
        new, new_docs = new[~repeated].reset_index(drop=True), [d for d, r in zip(new_docs, repeated) if not r]
    old_docs = message_docs(old)
    replaced = np.isin(np.array(old_docs, dtype=object), np.array(new_docs, dtype=object))
    if replaced.any():
        notes.append(tr(f"{int(replaced.sum())} 条新标注的留言已在原训练数据中：以新标签为准。",
                           f"{int(replaced.sum())} labelled messages were already in the old training data: the new labels win."))  # fmt: skip
    kept = old[~replaced]
    shared = set(kept["id"]) & set(new["id"]) - {""}
    if shared:
        notes.append(tr(f"{len(shared)} 个编号在原训练数据中属于其他留言（文本不同）：两者都保留。例：{min(shared)}",
                           f"{len(shared)} ids belong to other messages (other texts) in the old training data: both are kept, e.g. {min(shared)}."))  # fmt: skip
    columns = ["id", "channel", "title", "text", "time", *heads]
    rows = pd.concat(
        [kept.reindex(columns=columns + ["weight"], fill_value="").assign(origin=OLD),
         new.reindex(columns=columns, fill_value="").assign(weight=weight, origin=NEW)],
        ignore_index=True,
    )  # fmt: skip
    rows["weight"] = pd.to_numeric(rows["weight"]).fillna(1.0)
    return rows, int(replaced.sum()), notes


def adapt(
    model_path: str | Path,
    labelled: pd.DataFrame,
    out: str | Path,
    *,
    weight: float = DEFAULT_WEIGHT,
    allow_new_labels: bool = False,
    catalogue: Catalogue | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> AdaptResult:
    """A new model in ``out`` from the model in ``model_path`` and the city's ``labelled`` rows (message schema
    with some of the model's label columns; a row with no label is not used and is counted).

    ``catalogue`` replaces the old model's catalogue in the new model.
    """
    if not weight > 0:
        raise InputError(tr(f"--weight 应为正数，收到 {weight}。", f"--weight must be a positive number, got {weight}."))
    if Path(out).resolve() == Path(model_path).resolve():
        raise InputError(tr(f"--out {out} 是原模型的目录：请选择其他文件夹（原模型保持不变）。",
                            f"--out {out} is the old model's folder: choose another folder (the old model is kept)."))
    old_model = load_model(model_path)
    if not old_model.model.supports_sample_weight:
        raise ModelError(tr(
            f"adapt 只适用于线性模型；{model_path} 是 {old_model.model.kind} 模型。BERT 模型请用 `train --model bert` "
            "在原数据加新标注上重新训练；集成模型请适配其中的线性模型，再用 `train --model ensemble` 重新组建。",
            f"adapt works with linear models; {model_path} is a {old_model.model.kind} model. Train a BERT model again "
            "with `train --model bert` on its data plus the new rows; for an ensemble, adapt its linear model and "
            "build the ensemble again with `train --model ensemble`.",
        ))
    labelled = labelled.fillna("").astype(str)
    for head in set(old_model.heads) & set(labelled.columns):  # a label typed in a spreadsheet: "水利局 "
        labelled[head] = labelled[head].str.strip()
    heads, unknown = check_labels(labelled, old_model, allow_new_labels)
    has_label = labelled[heads].ne("").any(axis=1).to_numpy()
    new = labelled[has_label].reset_index(drop=True)
    old, vocabulary = base_training_data(old_model)
    rows, replaced, notes = combine(old, new, old_model.heads, weight)
    if "department" in old_model.heads and ("department" not in new or new["department"].eq("").all()):
        notes.append(tr("标注文件的 department 列没有任何标签：新模型的部门判断学不到本市的标注。",
                        "The labelled file has no department labels: the new model's department head learns "
                        "nothing from the city."))  # fmt: skip
    if unknown:
        notes.append(tr("新增类别（模型原来没有）：", "new classes (unknown to the old model): ")
                        + "; ".join(f"{h}: {', '.join(v)}" for h, v in unknown.items()))  # fmt: skip
    rules = {k: old_model.rules[k] for k in CARRIED_RULES if old_model.rules.get(k) is not None}
    config = replace(old_model.config, label_cols=old_model.heads, **rules)
    progress(tr(f"原训练数据 {len(old)} 行（替换 {replaced} 行），新增 {len(new)} 行，权重 {weight}",
                f"old training rows {len(old)} ({replaced} replaced), new rows {len(new)}, weight {weight}"))  # fmt: skip
    vocabulary = vocabulary + message_docs(labelled[~has_label])  # the city's unlabelled rows: its words
    record = {"adapted_from": old_model.version, "added_rows": len(new), "replaced_rows": replaced, "weight": weight}
    with warnings.catch_warnings():  # a few city rows often hold one label per head: sklearn says so, harmlessly
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        result = train(rows.drop(columns=["weight", "origin"]), out, config, vocabulary_docs=vocabulary,
                       catalogue=catalogue or old_model.catalogue, learned_catalogue=old_model.learned_catalogue,
                       progress=progress,
                       sample_weight=rows["weight"].to_numpy(), groups=rows["origin"].to_numpy(), record=record)  # fmt: skip
        held = rows.iloc[np.flatnonzero(result.validation_mask & (rows["origin"].to_numpy() == NEW))]
        held = held[list(SCHEMA) + heads].reset_index(drop=True)
        before = evaluate(old_model.with_catalogue(catalogue), held)["heads"] if len(held) else {}  # the new one's catalogue
    new_rows = {"rows": len(held), "heads": {}}
    if len(held):
        after = result.group_metrics.get(NEW, {})
        for head in heads:
            if head in after and head in before:
                new_rows["heads"][head] = {"old_model": _headline(before[head]), "new_model": _headline(after[head])}
    return AdaptResult(result.path, result.metrics, new_rows, len(new), replaced, int((~has_label).sum()),
                       unknown, weight, notes)  # fmt: skip


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "top3_accuracy")}


def adapt_file(
    model_path: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    text_col: str | None = None,
    title_col: str | None = None,
    **options,
) -> AdaptResult:
    """``adapt`` with the labelled rows of a file (any supported format, e.g. a file written by ``suggest``)."""
    return adapt(model_path, load_messages(data, text_col=text_col, title_col=title_col), out, **options)
