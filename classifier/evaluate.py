"""Metrics per head and human-readable reports (Markdown + confusion-matrix, reliability and coverage PNGs).

Besides accuracy and F1, ``evaluate`` measures how honest the confidences are: the expected calibration error
(ECE) of every head's decision confidence, and, for ``needs_review``, the share of messages routed automatically
against the department precision among them, at a grid of department thresholds and at the model's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from classifier.data import no_label_columns
from classifier.i18n import tr
from classifier.plotting import pyplot
from classifier.router import (
    INVALID, NO_DEPARTMENT, is_garbage, prepare, review_values, route_prepared, threshold_of,
)  # fmt: skip

ECE_BINS = 10
REVIEW_GRID = tuple(round(0.05 * i, 2) for i in range(20)) + (0.97, 0.99)
"""Department thresholds of the coverage/precision curve."""


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


def calibration(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Expected calibration error over ``bins`` equal-width confidence bins, and the bins of a reliability diagram.

    Bin ``i`` holds confidences in ``[i/bins, (i+1)/bins)``, the last one also 1.0; ECE is the row-weighted mean
    of ``|accuracy - mean confidence|`` over the bins.
    """
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    if confidence.size == 0:
        return {"ece": None, "reliability": []}
    which = np.minimum((np.clip(confidence, 0.0, 1.0) * bins).astype(int), bins - 1)
    reliability, ece = [], 0.0
    for b in range(bins):
        rows = which == b
        if not rows.any():
            continue
        mean_confidence, accuracy = float(confidence[rows].mean()), float(correct[rows].mean())
        ece += rows.sum() / confidence.size * abs(accuracy - mean_confidence)
        reliability.append({"low": round(b / bins, 4), "high": round((b + 1) / bins, 4), "n": int(rows.sum()),
                            "confidence": round(mean_confidence, 4), "accuracy": round(accuracy, 4)})  # fmt: skip
    return {"ece": round(float(ece), 4), "reliability": reliability}


def _coverage_point(auto: np.ndarray, correct: np.ndarray) -> dict:
    share = float(auto.mean()) if auto.size else 0.0
    precision = float(correct[auto].mean()) if auto.any() else None
    return {"auto_routed": round(share, 4), "precision": None if precision is None else round(precision, 4),
            "n_auto": int(auto.sum())}  # fmt: skip


def review_curve(decided: pd.DataFrame, gold: np.ndarray, garbage: np.ndarray, thresholds: dict) -> dict:
    """Share routed automatically and department precision among those rows, at the model's thresholds and on a grid.

    ``gold`` is the department label of every row (``""`` where unknown: not counted). At the model's thresholds a
    row is automatic when ``needs_review`` is false. On the grid, the department threshold varies and the rest of
    the rule stays: a row is automatic when it was routed, is not a 无效 by the garbage rule, its screening
    confidence reaches the model's screening threshold and its department confidence reaches the grid value.
    """
    rows = gold != ""
    predicted, confidence = review_values(decided, "department")
    correct = (predicted == gold)[rows]
    routed = decided["route_status"].eq("ok").to_numpy() & ~garbage
    if "screening_confidence" in decided:
        categories, screening = review_values(decided, "screening")
        routed &= screening >= threshold_of(thresholds, "screening", categories)
    model = _coverage_point(~decided["needs_review"].to_numpy(dtype=bool)[rows], correct)
    model["thresholds"] = {h: thresholds[h] for h in ("screening", "department") if h in thresholds}
    curve = [{"threshold": t, **_coverage_point((routed & (confidence >= t))[rows], correct)} for t in REVIEW_GRID]
    return {"n": int(rows.sum()), "model": model, "curve": curve}


def evaluate(model, frame: pd.DataFrame) -> dict:
    """Route ``frame`` (message schema with label columns) and score every head the model and data share.

    ``training_overlap`` counts the rows the model was trained on (None when the model does not record its
    training rows): scores on them say nothing about new messages.
    Every head also gets ``ece`` and ``reliability`` (see ``calibration``), on the confidence of its final
    decision; with a department head and department labels, ``review`` holds the coverage/precision curve of
    ``needs_review`` (see ``review_curve``).
    """
    shared = [h for h in model.labels if h in frame]
    if not shared:
        raise no_label_columns(frame, list(model.labels))
    docs, reasons = prepare(frame["title"].tolist(), frame["text"].tolist())
    decided, probs = route_prepared(model, docs, reasons)
    result = score_decisions(decided, probs, frame, model.labels)
    ok = decided["route_status"].eq("ok").to_numpy()
    for head, metrics in result["heads"].items():
        gold = frame[head].fillna("").astype(str).to_numpy()
        scored = (gold != "") & ok
        predicted, confidence = review_values(decided, head)
        metrics.update(calibration(confidence[scored], predicted[scored] == gold[scored]))
    if "department" in result["heads"]:
        rule = INVALID in model.labels.get("screening", [])
        garbage = np.array([rule and ok[i] and is_garbage(doc) for i, doc in enumerate(docs)], dtype=bool)
        gold = frame["department"].fillna("").astype(str).to_numpy()
        result["review"] = review_curve(decided, gold, garbage, model.thresholds)
    result["model_version"] = model.version
    result["rows"] = len(frame)
    result["rows_not_routable"] = int((decided["route_status"] != "ok").sum())
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


def calibration_markdown(result: dict) -> str:
    """One row per head: rows scored, ECE, mean confidence and accuracy."""
    lines = [tr("| 标签列 | 行数 | ECE | 平均置信度 | 准确率 |", "| head | n | ECE | mean confidence | accuracy |"),
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for head, m in result["heads"].items():
        if m.get("ece") is None:
            continue
        n = sum(b["n"] for b in m["reliability"])
        confidence = sum(b["n"] * b["confidence"] for b in m["reliability"]) / n
        accuracy = sum(b["n"] * b["accuracy"] for b in m["reliability"]) / n
        lines.append(f"| {head} | {n} | {m['ece']:.4f} | {confidence:.4f} | {accuracy:.4f} |")
    return "\n".join(lines)


def _own_thresholds(thresholds: dict) -> str:
    """The model's review thresholds in words: each head's number, or its default when it has one per label."""
    parts = []
    for head, value in thresholds.items():
        if isinstance(value, dict):
            parts.append(tr(f"{head} 默认 {value.get('', 0.0)}", f"{head} default {value.get('', 0.0)}"))
        else:
            parts.append(f"{head} {value}")
    own = tr("，", ", ").join(parts)
    if any(isinstance(v, dict) for v in thresholds.values()):
        own += tr("（按标签见下表）", " (per label: see the table below)")
    return tr(f"模型自身：{own}", f"model's own: {own}")


def _label_thresholds_markdown(thresholds: dict) -> list[str]:
    """A table of the per-label review thresholds (the key ``""`` is the default of the labels not listed)."""
    per_label = {head: value for head, value in thresholds.items() if isinstance(value, dict)}
    if not per_label:
        return []
    default = tr("其他标签（默认）", "other labels (default)")
    lines = [tr("模型自身的复核阈值，按预测的标签（置信度低于阈值的消息需人工复核）：",
                "The model's own review thresholds per predicted label (a message below its threshold is reviewed):"),
             "", tr("| 标签列 | 标签 | 阈值 |", "| head | label | threshold |"), "| --- | --- | --- |"]  # fmt: skip
    for head, values in per_label.items():
        ordered = sorted(values.items(), key=lambda item: (item[0] != "", item[0]))
        lines += [f"| {head} | {label or default} | {float(value):.4f} |" for label, value in ordered]
    return lines


def review_markdown(review: dict) -> str:
    """The coverage/precision table of ``needs_review``: the model's own thresholds first, then the grid; then
    the model's per-label thresholds, when it has some."""
    def cell(point: dict) -> str:
        precision = "" if point["precision"] is None else f"{point['precision']:.4f}"
        return f"{point['auto_routed']:.4f} | {precision} | {point['n_auto']}"

    model = review["model"]
    lines = [tr("| 部门阈值 | 自动分派占比 | 部门准确率（自动分派） | 自动分派行数 |",
                "| department threshold | auto-routed share | department precision (auto-routed) | auto-routed rows |"),
             "| --- | --- | --- | --- |", f"| {_own_thresholds(model['thresholds'])} | {cell(model)} |"]  # fmt: skip
    lines += [f"| {p['threshold']:.2f} | {cell(p)} |" for p in review["curve"]]
    per_label = _label_thresholds_markdown(model["thresholds"])
    return "\n".join(lines + ([""] + per_label if per_label else []))


def _reliability_png(plt, result: dict, path: Path, cjk: bool) -> None:
    label = (lambda zh, en: tr(zh, en)) if cjk else (lambda zh, en: en)
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label=label("完美校准", "perfect calibration"))
    for head, m in result["heads"].items():
        if m.get("reliability"):
            x = [b["confidence"] for b in m["reliability"]]
            y = [b["accuracy"] for b in m["reliability"]]
            axis.plot(x, y, marker="o", markersize=3, label=f"{head} (ECE {m['ece']:.3f})")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel(label("决策置信度（每箱均值）", "decision confidence (bin mean)"))
    axis.set_ylabel(label("准确率", "accuracy"))
    axis.set_title(label("可靠性图（10 个等宽箱）", "reliability diagram (10 equal-width bins)"))
    axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _coverage_png(plt, review: dict, path: Path, cjk: bool) -> None:
    label = (lambda zh, en: tr(zh, en)) if cjk else (lambda zh, en: en)
    points = [p for p in review["curve"] if p["precision"] is not None]
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    axis.plot([p["auto_routed"] for p in points], [p["precision"] for p in points], marker="o", markersize=3,
              label=label("部门阈值网格", "department threshold grid"))  # fmt: skip
    shown: set[tuple[float, float]] = set()
    for p in points[:: max(1, len(points) // 6)]:
        if (p["auto_routed"], p["precision"]) in shown:
            continue
        shown.add((p["auto_routed"], p["precision"]))
        axis.annotate(f"{p['threshold']:.2f}", (p["auto_routed"], p["precision"]), fontsize=6, xytext=(3, 3),
                      textcoords="offset points")  # fmt: skip
    model = review["model"]
    if model["precision"] is not None:
        axis.scatter([model["auto_routed"]], [model["precision"]], color="red", zorder=3,
                     label=label("模型自身阈值", "model's own thresholds"))  # fmt: skip
    axis.set_xlim(0, 1.02)
    axis.set_xlabel(label("自动分派占比", "share routed automatically"))
    axis.set_ylabel(label("自动分派中的部门准确率", "department precision among them"))
    axis.set_title(label("needs_review：覆盖率与准确率", "needs_review: coverage and precision"))
    axis.legend(fontsize=7, loc="lower left")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


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
    if any(m.get("reliability") for m in result["heads"].values()):
        _reliability_png(plt, result, directory / "reliability.png", has_cjk)
        lines += [tr("## 校准", "## Calibration"), "",
                  tr("期望校准误差（ECE，10 个等宽箱）：最终决策的置信度与其正确率之差，按行数加权。",
                     "Expected calibration error (ECE, 10 equal-width bins) of each head's final decision confidence."),
                  "", calibration_markdown(result), "", f"![{tr('可靠性图', 'reliability diagram')}](reliability.png)", ""]  # fmt: skip
    if result.get("review"):
        _coverage_png(plt, result["review"], directory / "review_coverage.png", has_cjk)
        lines += [tr("## 人工复核（needs_review）", "## Review (needs_review)"), "",
                  tr("自动分派：不需人工复核的消息；其中部门判对的比例为准确率。网格上只改部门阈值，其余规则不变。",
                     "Auto-routed: messages that need no review; precision is the share of them with the right department. "
                     "On the grid only the department threshold changes; the other review rules stay."),
                  "", review_markdown(result["review"]), "", f"![{tr('覆盖率与准确率', 'coverage and precision')}](review_coverage.png)", ""]  # fmt: skip
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
