"""The supervisor's report of a reply check: departments ranked by their share of poor replies, with counts,
example excerpts and a plot of days to reply per department (Markdown + PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.i18n import tr
from classifier.replies.files import NOT_GRADED, ReplySummary
from classifier.replies.scoring import TIME_PROBLEM_NAMES

MIN_REPLIES_RANKED = 10
"""Departments with fewer replies are listed after the ranked ones, unranked (a share of 1 in 2 says little)."""
PLOT_FILE = "days_to_reply.png"


def ranking(summary: ReplySummary) -> list[dict]:
    """One dict per department, worst share of poor replies first (ties: more replies first); a department with
    no graded reply (only unanswered rows) has no share and comes after those that have one."""
    rows = []
    for name, stat in summary.departments.items():
        total = sum(stat.qualities.values())
        days = np.repeat(list(stat.days), list(stat.days.values())) if stat.days else np.array([])
        rows.append({
            "department": name, "replies": total, "unanswered": stat.unanswered, "poor": stat.qualities["poor"],
            "acceptable": stat.qualities["acceptable"], "good": stat.qualities["good"],
            "poor_share": stat.qualities["poor"] / total if total else None,
            "median_days": float(np.median(days)) if days.size else None,
            "late_share": stat.late / stat.timed if stat.timed else None,
            "examples": stat.examples, "days": days,
        })  # fmt: skip
    return sorted(rows, key=lambda r: (r["replies"] < MIN_REPLIES_RANKED, r["poor_share"] is None, -(r["poor_share"] or 0),
                                       -r["replies"], r["department"]))  # fmt: skip


def _matplotlib_at_least(major: int, minor: int) -> bool:
    import matplotlib

    found = tuple(int(part) for part in matplotlib.__version__.split(".")[:2] if part.isdigit())
    return found >= (major, minor)


def plot_days(rows: list[dict], path: Path) -> bool:
    """Box plot of working days to reply per department; True when department names could be drawn in Chinese."""
    from classifier import plotting

    plt, font = plotting.pyplot()
    shown = [r for r in rows if r["days"].size]
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.38 * max(len(shown), 1)))
    if shown:
        horizontal = {"orientation": "horizontal"} if _matplotlib_at_least(3, 10) else {"vert": False}
        axis.boxplot([r["days"] for r in shown], showfliers=True, flierprops={"markersize": 2}, **horizontal)
        labels = [r["department"] if font else str(i + 1) for i, r in enumerate(shown)]
        axis.set_yticks(range(1, len(shown) + 1), labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_xscale("symlog", linthresh=10)
        top = max(float(r["days"].max()) for r in shown)
        ticks = [t for t in (0, 5, 10, 15, 30, 60, 100, 200, 500, 1000, 2000) if t <= max(top, 15)]
        axis.set_xticks(ticks, [str(t) for t in ticks])
        axis.set_xlim(left=-0.5)
        for days, style in ((1, ":"), (5, "--"), (15, "-.")):  # deadline classes A, B, C
            axis.axvline(days, color="grey", linestyle=style, linewidth=0.8)
    axis.set_xlabel(tr("答复用时（工作日；虚线为A/B/C类时限1/5/15天）", "working days to reply (dashed: deadlines 1/5/15)")
                    if font else "working days to reply (dashed: deadlines 1/5/15)")  # fmt: skip
    axis.set_title(tr("各部门答复用时", "Days to reply per department") if font else "Days to reply per department")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return font


def _fmt(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _not_graded_lines(summary: ReplySummary) -> list[str]:
    """What was left out of the grades and of the days to reply, and why (nothing when everything counted)."""
    lines = []
    if summary.not_graded:
        n = sum(summary.not_graded.values())
        parts = [(tr(NOT_GRADED[k][0], NOT_GRADED[k][1]), summary.not_graded[k]) for k in NOT_GRADED if summary.not_graded[k]]
        lines += [tr(f"未评级{n}行：" + "，".join(f"{name}{c}行" for name, c in parts) + "。",
                     f"{n} rows not graded: " + ", ".join(f"{c} {name}" for name, c in parts) + "."), ""]  # fmt: skip
    if summary.untimed:
        n = sum(summary.untimed.values())
        parts = [(tr(*TIME_PROBLEM_NAMES[k]), c) for k, c in summary.untimed.most_common()]
        lines += [tr(f"{n}条答复未计算用时（" + "，".join(f"{name} {c}条" for name, c in parts) + "），不计入用时中位数和超时占比。",
                     f"{n} replies without days to reply (" + ", ".join(f"{name}: {c}" for name, c in parts)
                     + "): not in the median days or the late share."), ""]  # fmt: skip
    return lines


def write_report(summary: ReplySummary, directory: str | Path, title: str | None = None) -> Path:
    """Write ``report.md`` and ``days_to_reply.png`` into ``directory``; returns the Markdown path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = ranking(summary)
    cjk = plot_days(rows, directory / PLOT_FILE)
    q = summary.qualities
    lines = [
        f"# {title or tr('部门答复质量检查', 'Department reply check')}", "",
        tr(f"共{summary.rows}行，其中有答复{summary.replies}条：好 {q['good']}，一般 {q['acceptable']}，差 {q['poor']}。"
           f"有答复的行中{summary.predicted_departments}条的部门由分流模型根据留言推断。",
           f"{summary.rows} rows, {summary.replies} with a reply: good {q['good']}, acceptable {q['acceptable']}, "
           f"poor {q['poor']}. The department of {summary.predicted_departments} replied rows was predicted from the "
           "message by the routing model."), "",
        *_not_graded_lines(summary),
        tr("## 按“差”答复占比排序", "## Departments by share of poor replies"), "",
        tr("| 排名 | 部门 | 答复数 | 未答复 | 差 | 一般 | 好 | 差占比 | 用时中位数（工作日） | 超时占比 |",
           "| rank | department | replies | unanswered | poor | acceptable | good | poor share | median working days | late share |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for rank, r in enumerate(rows, 1):
        shown_rank = rank if r["replies"] >= MIN_REPLIES_RANKED else "–"
        lines.append(f"| {shown_rank} | {r['department']} | {r['replies']} | {r['unanswered']} | {r['poor']} | {r['acceptable']} | "
                     f"{r['good']} | {_fmt(r['poor_share'], '{:.0%}')} | {_fmt(r['median_days'], '{:.0f}')} | {_fmt(r['late_share'], '{:.0%}')} |")  # fmt: skip
    lines += ["", tr(f"答复少于{MIN_REPLIES_RANKED}条的部门列在最后，不排名；“未答复”是有留言但还没有答复的行，不评级，不计入占比。",
                     f"Departments with fewer than {MIN_REPLIES_RANKED} replies are listed last, unranked; "
                     "'unanswered' rows have a message and no reply yet: not graded, not in the shares."), "",
              f"![{tr('各部门答复用时', 'days to reply per department')}]({PLOT_FILE})", ""]  # fmt: skip
    if not cjk:
        numbered = [r for r in rows if r["days"].size]
        lines += [tr("图中编号（未安装中文字体）：", "Numbers in the plot (no Chinese font installed): ")
                  + ", ".join(f"{i} = {r['department']}" for i, r in enumerate(numbered, 1)), ""]  # fmt: skip
    lines += [tr("## 各部门答复示例", "## Example replies per department"), ""]
    names = {"good": tr("好", "good"), "acceptable": tr("一般", "acceptable"), "poor": tr("差", "poor")}
    for r in rows:
        if not r["examples"]:
            continue
        lines += [f"### {r['department']}", ""]
        for quality, excerpt, reasons in r["examples"]:
            safe = excerpt.replace("|", "｜")
            lines.append(f"- **{names[quality]}**：{safe}  \n  {tr('理由', 'reasons')}：{reasons}")
        lines.append("")
    lines += [tr("工作日按国家法定节假日和调休计算（2004–2026年；其他年份按周一至周五）；时限按部门目录的A/B/C类。",
                 "Working days follow the official Chinese calendar with holidays and swapped working days (2004–2026; "
                 "other years Monday to Friday); deadlines follow the catalogue's A/B/C classes."), ""]  # fmt: skip
    path = directory / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
