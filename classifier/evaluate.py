"""Metrics per head and human-readable reports (Markdown + confusion-matrix PNGs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.plotting import pyplot
from classifier.router import NO_DEPARTMENT, prepare, route_batch


def head_metrics(y_true: Sequence[str], y_pred: Sequence[str], top3: Sequence[Sequence[str]]) -> dict:
    """Accuracy, macro/weighted F1, top-3 accuracy, per-class P/R/F1 and the confusion matrix."""
    y_true, y_pred = list(y_true), list(y_pred)
    labels = sorted(set(y_true) | set(y_pred))
    if not y_true:
        return {"n": 0, "accuracy": None, "macro_f1": None, "weighted_f1": None, "top3_accuracy": None,
                "per_class": {}, "labels": [], "confusion": []}  # fmt: skip
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "weighted_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)), 4),
        "top3_accuracy": round(float(np.mean([t in set(k) for t, k in zip(y_true, top3)])), 4),
        "per_class": {
            label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def top_labels(probs: np.ndarray, labels: list[str], k: int = 3) -> list[list[str]]:
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[labels[j] for j in row] for row in order]


def score_decisions(decided: pd.DataFrame, probs: dict[str, np.ndarray], truth: pd.DataFrame, labels: dict) -> dict:
    """Per-head metrics of routed rows against the label columns of ``truth`` (same rows, same order).

    Every head is scored on the final decisions (after rules and consistency); top-3 is the decision followed
    by the next labels of ``department_top3`` (department) or of the head's probabilities (other heads).
    """
    heads = {}
    for head in labels:
        if head not in truth:
            continue
        gold = truth[head].fillna("").astype(str).to_numpy()
        scored = np.flatnonzero((gold != "") & decided["route_status"].eq("ok").to_numpy())
        predicted = decided[head].to_numpy()[scored].astype(object)
        if head == "department":
            predicted = np.where(predicted == "", NO_DEPARTMENT, predicted)
            top3 = [[x.rsplit(":", 1)[0] for x in cell.split("|")] if cell else [NO_DEPARTMENT]
                    for cell in decided["department_top3"].to_numpy()[scored]]  # fmt: skip
        else:
            ok_rows = np.flatnonzero(decided["route_status"].eq("ok").to_numpy())
            position = {row: i for i, row in enumerate(ok_rows)}
            ranked = top_labels(probs[head][[position[r] for r in scored]], labels[head], k=4) if len(scored) else []
            top3 = [[p] + [x for x in row if x != p][:2] for p, row in zip(predicted, ranked)]
        heads[head] = head_metrics(gold[scored], predicted, top3)
    return {"heads": heads}


def evaluate(model, frame: pd.DataFrame) -> dict:
    """Route ``frame`` (message schema with label columns) and score every head the model and data share.

    ``training_overlap`` counts the rows the model was trained on (None when the model does not record its
    training rows): scores on them say nothing about new messages.
    """
    shared = [h for h in model.labels if h in frame]
    if not shared:
        raise InputError(
            f"The data has none of the model's label columns {list(model.labels)}; found columns {list(frame.columns)}."
        )
    decided, probs = route_batch(model, frame["title"].tolist(), frame["text"].tolist())
    result = score_decisions(decided, probs, frame, model.labels)
    result["model_version"] = model.version
    result["rows"] = len(frame)
    result["rows_not_routable"] = int((decided["route_status"] != "ok").sum())
    docs, reasons = prepare(frame["title"].tolist(), frame["text"].tolist())
    result["training_overlap"] = model.training_overlap([d for d, r in zip(docs, reasons) if r is None])
    return result


def overlap_warning(result: dict) -> str | None:
    """A one-line warning when the evaluation rows include the model's training rows."""
    overlap = result.get("training_overlap")
    if not overlap:
        return None
    return tr(
        f"警告：{result['rows']} 行评估数据中有 {overlap} 行是该模型的训练数据，这些行上的分数偏高，不能代表新留言上的表现。",
        f"Warning: {overlap} of the {result['rows']} evaluation rows are training rows of this model; "
        "scores on them are optimistic and say nothing about new messages.",
    )


SUMMARY_KEYS = ("n", "accuracy", "macro_f1", "weighted_f1", "top3_accuracy")


def summary_markdown(result: dict) -> str:
    """One Markdown table row per head with the headline metrics."""
    header = tr("| 标签列 | 行数 | 准确率 | 宏平均 F1 | 加权 F1 | 前三命中率 |", "| head | " + " | ".join(SUMMARY_KEYS) + " |")
    lines = [header, "| --- |" + " --- |" * len(SUMMARY_KEYS)]
    for head, m in result["heads"].items():
        lines.append(f"| {head} | " + " | ".join("" if m[k] is None else str(m[k]) for k in SUMMARY_KEYS) + " |")
    return "\n".join(lines)


def write_report(result: dict, directory: str | Path, title: str | None = None) -> Path:
    """Markdown report (``report.md``), ``metrics.json`` and a confusion-matrix PNG per head.

    Confusion matrices are normalised by row (the share of each true label's messages per predicted label)
    and show the counts; axes carry the label names when a Chinese font is installed, numbers otherwise.
    """
    plt, has_cjk = pyplot()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title or tr('complaint-router 评估报告', 'complaint-router evaluation')}", "",
             tr("模型", "Model") + f": `{result.get('model_version', '?')}`  ",
             tr(f"行数：{result.get('rows', '?')}，无法分派：{result.get('rows_not_routable', 0)}",
                f"Rows: {result.get('rows', '?')}, not routable: {result.get('rows_not_routable', 0)}"), ""]  # fmt: skip
    warning = overlap_warning(result)
    if warning:
        lines += [f"**{warning}**", ""]
    lines += [summary_markdown(result), ""]
    for head, m in result["heads"].items():
        if not m["labels"]:
            continue
        lines += [f"## {head}", "", tr("| 标签 | 精确率 | 召回率 | F1 | 行数 |", "| label | precision | recall | F1 | support |"),
                  "| --- | --- | --- | --- | --- |"]  # fmt: skip
        lines += [f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
                  for label, c in m["per_class"].items()]  # fmt: skip
        _confusion_png(plt, m, head, directory / f"confusion_{head}.png", has_cjk)
        lines += ["", f"![{tr('混淆矩阵', 'confusion matrix')} {head}](confusion_{head}.png)", ""]
        if not has_cjk:
            lines += [tr("坐标编号：", "Axis numbers: ") + ", ".join(f"{i} = {label}" for i, label in enumerate(m["labels"])), ""]
    (directory / "report.md").write_text("\n".join(lines), encoding="utf-8")
    (directory / "metrics.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return directory / "report.md"


def _confusion_png(plt, m: dict, head: str, path: Path, has_cjk: bool) -> None:
    counts = np.array(m["confusion"])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = len(m["labels"])
    figure, axis = plt.subplots(figsize=(2.5 + 0.55 * size, 2 + 0.45 * size))
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = range(size)
    names = m["labels"] if has_cjk else [str(i) for i in ticks]
    axis.set_xticks(ticks, names, rotation=90, fontsize=7)
    axis.set_yticks(ticks, names, fontsize=7)
    for (i, j), value in np.ndenumerate(counts):
        if value:
            axis.text(j, i, f"{shares[i, j]:.0%}\n{value}", ha="center", va="center", fontsize=5,
                      color="white" if shares[i, j] > 0.5 else "black")  # fmt: skip
    axis.set_xlabel(tr("预测", "predicted"))
    axis.set_ylabel(tr("真实（按行归一化）", "true (row-normalised)"))
    axis.set_title(tr(f"{head}：混淆矩阵", f"{head}: confusion matrix"))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
