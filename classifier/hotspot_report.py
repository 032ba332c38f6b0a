"""The hot-issue report: Markdown with the top clusters and a PNG of their messages over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from classifier.i18n import tr
from classifier.message_table import NO_TIME

def _period(first: str, last: str) -> str:
    if not first:
        return "—"
    return first[:10] if first[:10] == last[:10] else f"{first[:10]} – {last[:10]}"


def markdown(clusters: pd.DataFrame, top: int, window_days: float | None, image: str | None) -> str:
    head = clusters.head(top)
    window = tr(f"{window_days:g} 天", f"{window_days:g} days") if window_days else tr("不限", "none")
    lines = [
        tr("# 热点问题", "# Hot issues"), "",
        tr(f"{int(clusters['size'].sum())} 条留言，{len(clusters)} 个类（其中 {int((clusters['size'] > 1).sum())} 个多于一条留言），"
           f"时间窗口 {window}。按热度从高到低列出前 {len(head)} 个。",
           f"{int(clusters['size'].sum())} messages, {len(clusters)} clusters ({int((clusters['size'] > 1).sum())} with "
           f"more than one message), time window {window}. The top {len(head)} by heat."), "",
        tr("| 排名 | 地点 | 问题概要 | 留言数 | 留言人数 | 时间段 | 热度 | 关键词 |",
           "| rank | place | summary | messages | writers | period | heat | key terms |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for rank, row in enumerate(head.itertuples(index=False), start=1):
        summary = " ".join(str(row.summary).split()).replace("|", "｜")[:60]
        lines.append(f"| {rank} | {row.place or '—'} | {summary} | {row.size} | {row.writers} | "
                     f"{_period(row.first_time, row.last_time)} | {row.heat:g} | {row.keywords} |")  # fmt: skip
    lines += ["", tr("热度 = (10×留言人数 + 2×(留言数 − 留言人数) + 2×Σ√(点赞数 + 反对数)) ÷ (1 + log2(1 + 持续天数/30))。",
                     "Heat = (10×writers + 2×(messages − writers) + 2×Σ√(likes + dislikes)) ÷ (1 + log2(1 + span days/30)).")]  # fmt: skip
    if image:
        lines += ["", f"![{tr('留言时间分布', 'Messages over time')}]({image})"]
    return "\n".join(lines) + "\n"


def timeline(clusters: pd.DataFrame, messages, top: int, path: Path) -> str | None:
    """A PNG with one row per top cluster and a dot per message at its time (size by likes + dislikes).

    Returns a note for the user when no Chinese font is installed (the labels then use cluster ids only)."""
    from classifier.plotting import pyplot

    plt, chinese = pyplot()
    _draw(plt, clusters.head(top), messages, chinese, path)
    if chinese:
        return None
    return tr("没有安装中文字体（如 fonts-noto-cjk）：图中只标类编号。",
              "No Chinese font installed (such as fonts-noto-cjk): the chart shows cluster ids only.")  # fmt: skip


def _draw(plt, head: pd.DataFrame, messages, chinese: bool, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(11, 0.55 * max(len(head), 1) + 1.6), dpi=110)
    plotted = False
    for rank, row in enumerate(head.itertuples(index=False)):
        times = messages.times[row.members]
        known = times != NO_TIME
        if known.any():
            when = pd.to_datetime(times[known])
            support = (messages.likes[row.members] + messages.dislikes[row.members])[known]
            axes.scatter(when, np.full(len(when), rank), s=18 + 6 * np.sqrt(support), alpha=0.6)
            plotted = True
    labels = [f"{cid} {place}"[:24] if chinese else cid for cid, place in zip(head["cluster_id"], head["place"])]
    axes.set_yticks(range(len(head)), labels)
    axes.invert_yaxis()
    axes.set_xlabel(tr("留言时间（点的大小：点赞数 + 反对数）", "Message time (dot size: likes + dislikes)") if chinese
                    else "Message time (dot size: likes + dislikes)")  # fmt: skip
    axes.set_title(tr(f"前 {len(head)} 个热点问题的留言时间", f"Messages of the top {len(head)} hot issues") if chinese
                   else f"Messages of the top {len(head)} hot issues")  # fmt: skip
    if not plotted:
        axes.text(0.5, 0.5, tr("没有时间", "no times") if chinese else "no times", transform=axes.transAxes, ha="center")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_report(clusters: pd.DataFrame, messages, folder: str | Path, *, top: int = 10,
                 window_days: float | None = None) -> tuple[Path, str | None]:  # fmt: skip
    """Write ``hotspots.md`` and ``hotspots_timeline.png`` into ``folder``; (report path, note or None)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "hotspots_timeline.png"
    note = timeline(clusters, messages, top, image)
    report = folder / "hotspots.md"
    report.write_text(markdown(clusters, top, window_days, image.name), encoding="utf-8")
    return report, note
