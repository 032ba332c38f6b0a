"""Checking the replies of a whole file: read in chunks, score every row, write them out in order.

Every input row gives one output row: a row without a reply gets an empty ``quality`` and ``reasons`` saying so;
a row that could not be read is kept with the reason. The department of a row is the input's (``department``,
``承办单位`` …) when it has one, else the shipped router's prediction from the message.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from classifier.catalogue import Catalogue
from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io import TableWriter, append_columns, check_output_path, find_column, open_table
from classifier.io.columns import DEPARTMENT_COLUMNS, REPLY_COLUMNS, REPLY_TIME_COLUMNS, TIME_COLUMNS
from classifier.replies.lexicon import lexicon
from classifier.replies.scoring import DEFAULT_THRESHOLDS, QUALITIES, Thresholds, score_reply

OUTPUT_COLUMNS = (
    "department_used", "department_source", "relevance", "completeness", "unanswered", "brushoff_phrases",
    "concrete_actions", "days_to_reply", "on_time", "quality", "reasons",
)  # fmt: skip
EXAMPLES_PER_DEPARTMENT = 3
EXCERPT_CHARS = 80
NOT_GRADED = {
    "no_reply": ("没有答复", "without a reply"),
    "empty": ("空行（没有留言也没有答复）", "empty (no message and no reply)"),
    "unreadable": ("无法读取", "unreadable"),
}
"""Why a row has no grade (keys of ``ReplySummary.not_graded``), as the report names it."""


@dataclass
class DepartmentStats:
    qualities: Counter = field(default_factory=Counter)
    days: Counter = field(default_factory=Counter)
    late: int = 0
    timed: int = 0
    unanswered: int = 0  # rows of the department with a message and no reply (not graded)
    examples: list = field(default_factory=list)  # (quality, excerpt, reasons)


@dataclass
class ReplySummary:
    output: Path
    rows: int
    replies: int
    qualities: Counter
    seconds: float
    departments: dict[str, DepartmentStats]
    predicted_departments: int
    not_graded: Counter = field(default_factory=Counter)  # rows without a grade, by reason (keys of NOT_GRADED)
    untimed: Counter = field(default_factory=Counter)  # graded replies without days to reply, by timing problem


@dataclass(frozen=True)
class Columns:
    text: str
    title: str | None
    reply: str
    time: str | None
    reply_time: str | None
    department: str | None


def read_replies(path: str | Path, *, text_col=None, title_col=None, reply_col=None, time_col=None,
                 reply_time_col=None, department_col=None):  # fmt: skip
    """The opened table and its resolved columns (the one place that knows how replies are read)."""
    table = open_table(path, text_col=text_col, title_col=title_col)
    found = lambda wanted, names, what: find_column(table.columns, wanted, names, what)  # noqa: E731
    reply = found(reply_col, REPLY_COLUMNS, "reply")
    if reply is None:
        name, expected = Path(path).name, ", ".join(REPLY_COLUMNS[:5])
        raise InputError(tr(f"{name} 中没有答复列：应有名为 {expected} … 的列或用 --reply-col 指定；实际列为 {table.columns[:20]}。",
                            f"No reply column in {name}: expected one named {expected} … "
                            f"or given with --reply-col; found {table.columns[:20]}."))  # fmt: skip
    columns = Columns(table.text_col, table.title_col, reply, found(time_col, TIME_COLUMNS, "time"),
                      found(reply_time_col, REPLY_TIME_COLUMNS, "reply time"),
                      found(department_col, DEPARTMENT_COLUMNS, "department"))  # fmt: skip
    return table, columns


def match_department(name: str, catalogue: Catalogue) -> str | None:
    """The catalogue department that ``name`` refers to: itself, or the first alias contained in it."""
    name = name.strip()
    if not name:
        return None
    if catalogue.get(name) is not None:
        return name
    for short, full in lexicon().department_alias:
        if short in name and catalogue.get(full) is not None:
            return full
    return None


class _Router:
    """The shipped model, loaded on first use, to name the department of rows that have none."""

    def __init__(self, model_path):
        self.model_path, self.model = model_path, None

    def departments(self, titles: list, texts: list) -> list[str]:
        if self.model is None:
            from classifier.artifact import default_model_path, load_model

            self.model = load_model(self.model_path or default_model_path())
        from classifier.router import route_rows

        return route_rows(self.model, titles, texts)["department"].fillna("").astype(str).tolist()


def _cell(row, column) -> str:
    value = row.get(column, "") if column else ""
    return value if isinstance(value, str) else ""


def _excerpt(reply: str) -> str:
    text = " ".join(reply.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def check_replies(
    input_path: str | Path,
    output_path: str | Path,
    *,
    model=None,
    catalogue: Catalogue | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    chunk_size: int = 2000,
    **columns,
) -> ReplySummary:
    """Score every reply of ``input_path`` into ``output_path`` (format from its extension) and return a summary.

    ``columns`` may name ``text_col``, ``title_col``, ``reply_col``, ``time_col``, ``reply_time_col`` and
    ``department_col``; otherwise they are found by their usual names. ``model`` is a model folder for rows with
    no department (default: the shipped model). Raises ``InputError``/``FileNotFoundError`` on unusable input.
    """
    start = time.perf_counter()
    table, cols = read_replies(input_path, **columns)
    check_output_path(output_path)
    if Path(output_path).exists() and Path(output_path).resolve() == Path(input_path).resolve():
        raise InputError(tr(f"输出文件 {output_path} 就是输入文件：请另取一个文件名（输入文件保持不变）。",
                            f"Output {output_path} is the input file: expected another file name (the input is kept)."))
    if catalogue is None:
        from classifier.data import catalogue_path

        catalogue = Catalogue.load(catalogue_path())
    router = _Router(model)
    stats: dict[str, DepartmentStats] = defaultdict(DepartmentStats)
    counts, untimed = Counter(), Counter()
    with TableWriter(output_path) as writer:
        for chunk in table.chunks(chunk_size):
            out = _check_chunk(chunk.frame, chunk.errors, cols, catalogue, router, thresholds, stats, counts, untimed)
            writer.write(out)
        if counts["rows"] == 0:
            writer.write(pd.DataFrame(columns=[*table.columns, *OUTPUT_COLUMNS], dtype=str))
    return ReplySummary(Path(output_path), counts["rows"], counts["replies"],
                        Counter({q: counts[q] for q in QUALITIES}), round(time.perf_counter() - start, 3),
                        dict(stats), counts["predicted"],
                        Counter({k: counts[k] for k in NOT_GRADED if counts[k]}),
                        untimed)  # fmt: skip


def _check_chunk(chunk, errors, cols, catalogue, router, thresholds, stats, counts, untimed) -> pd.DataFrame:
    chunk = chunk.reset_index(drop=True)
    records = chunk.to_dict(orient="records")
    given = [_cell(r, cols.department).strip() for r in records]
    need = [i for i, (d, e) in enumerate(zip(given, errors)) if not d and not e and _cell(records[i], cols.text).strip()]
    predicted = router.departments([_cell(records[i], cols.title) for i in need],
                                   [_cell(records[i], cols.text) for i in need]) if need else []  # fmt: skip
    used, source = list(given), ["input" if d else "" for d in given]
    for i, department in zip(need, predicted):
        used[i], source[i] = department, "predicted" if department else ""
    rows = []
    for i, record in enumerate(records):
        counts["rows"] += 1
        if errors[i]:
            counts["unreadable"] += 1
            rows.append({**dict.fromkeys(OUTPUT_COLUMNS, ""), "reasons": tr(f"该行无法读取：{errors[i]}", f"row unreadable: {errors[i]}")})
            continue
        matched = match_department(used[i], catalogue)
        department = catalogue.get(matched) if matched else None
        score = score_reply(
            _cell(record, cols.title), _cell(record, cols.text), _cell(record, cols.reply),
            message_time=_cell(record, cols.time), reply_time=_cell(record, cols.reply_time),
            deadline_days=catalogue.deadline_days(matched) if matched else None,
            deadline_class=department.deadline_class if department else "", thresholds=thresholds,
        )  # fmt: skip
        row = score.row()
        rows.append({"department_used": used[i], "department_source": source[i], **row})
        counts["predicted"] += source[i] == "predicted" and bool(score.quality)
        if score.quality or _cell(record, cols.text).strip() or _cell(record, cols.title).strip():
            _tally(stats[used[i] or tr("（未知部门）", "(unknown department)")], score, _cell(record, cols.reply), counts, untimed)
        else:
            counts["empty"] += 1
    return append_columns(chunk.fillna(""), pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS)))


def _tally(stat: DepartmentStats, score, reply: str, counts: Counter, untimed: Counter) -> None:
    if not score.quality:
        stat.unanswered += 1
        counts["no_reply"] += 1
        return
    counts["replies"] += 1
    if score.time_problem:
        untimed[score.time_problem] += 1
    counts[score.quality] += 1
    stat.qualities[score.quality] += 1
    if score.days_to_reply is not None:
        stat.days[score.days_to_reply] += 1
    if score.on_time is not None:
        stat.timed += 1
        stat.late += score.on_time is False
    poor_examples = sum(q == "poor" for q, _, _ in stat.examples)
    if score.quality == "poor" and poor_examples < EXAMPLES_PER_DEPARTMENT - 1 or (
        score.quality == "good" and not any(q == "good" for q, _, _ in stat.examples)
    ):
        stat.examples.append((score.quality, _excerpt(reply), tr("；", "; ").join(score.reasons[:2])))
