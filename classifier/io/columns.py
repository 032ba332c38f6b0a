"""Finding the header row, the text and title columns, and second header rows, by the names exports use.

Exports put a title row ("12345热线工单导出（2024年5月）") or blank rows above the header, a second header row under it
(English names under Chinese ones, or sub-headers), and sometimes the same column name twice. The header is the
first row that names a text column; names are matched case- and space-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr

TEXT_COLUMNS = (
    "text", "留言详情", "content", "内容", "诉求内容", "留言内容", "来信内容", "诉求", "问题描述",
    "详情", "正文", "message", "body", "description",
    "来电内容", "诉求描述", "反映内容", "工单内容", "投诉内容", "来电诉求", "诉求详情", "事项内容", "具体内容",
)  # fmt: skip
"""Names of the message text column, in order of preference (the first present is used)."""
TITLE_COLUMNS = (
    "title", "留言主题", "标题", "主题", "诉求标题", "subject", "summary",
    "工单标题", "留言标题", "来电主题", "事项标题", "诉求主题",
)  # fmt: skip
ID_COLUMNS = ("id", "编号", "工单编号", "留言编号", "工单号", "来电编号", "来信编号", "受理编号", "message_id", "ticket_id")
TIME_COLUMNS = (
    "time", "留言时间", "来电时间", "来信时间", "受理时间", "提交时间", "创建时间", "登记时间", "时间", "日期",
    "date", "datetime", "created_at", "timestamp",
)  # fmt: skip
USER_COLUMNS = ("user", "留言用户", "用户", "来电人", "来信人", "反映人", "诉求人", "writer", "author", "user_id")
LIKES_COLUMNS = ("likes", "点赞数", "点赞", "赞成数", "支持数")
DISLIKES_COLUMNS = ("dislikes", "反对数", "反对", "踩")
DEPARTMENT_COLUMNS = ("department", "部门", "承办单位", "承办部门", "处理部门", "责任单位", "办理单位", "答复单位")
STATUS_COLUMNS = ("status", "case_status", "办理状态", "工单状态", "办结状态", "状态")
REPLY_COLUMNS = ("reply", "答复意见", "回复内容", "办理结果", "答复内容", "回复意见", "答复")
REPLY_TIME_COLUMNS = ("reply_time", "答复时间", "办结时间", "回复时间")
"""Names of the other columns commands look for (first present is used), in order of preference."""
OTHER_COLUMNS = (
    *ID_COLUMNS, *TIME_COLUMNS, *USER_COLUMNS, *LIKES_COLUMNS, *DISLIKES_COLUMNS, *DEPARTMENT_COLUMNS,
    *STATUS_COLUMNS, *REPLY_COLUMNS, *REPLY_TIME_COLUMNS,
    "no", "no.", "序号", "channel", "source", "渠道", "来源", "来电号码", "联系电话", "电话", "phone", "姓名", "name",
    "地址", "address", "类别", "分类", "诉求类型", "区域", "所属区县",
    "topic", "screening", "urgent", "label", "category",
)  # fmt: skip
"""Other names exports use: they mark header rows (and second header rows) but are never read as text."""
HEAD_ROWS = 30
"""Rows looked at, from the top of a table or sheet, to find the header."""
MAX_NAME_CHARS = 40

_TEXT = frozenset(n.lower() for n in TEXT_COLUMNS)
_KNOWN = _TEXT | {n.lower() for n in TITLE_COLUMNS + OTHER_COLUMNS}
_DATA = re.compile(r"[\d\s.,:;/\\()+\-%年月日时分秒]+")
"""A cell of numbers, dates or times: data, not a column name."""


def fold(name: object) -> str:
    return str(name).strip().lower()


_WHAT_ZH = {"text": "正文", "title": "标题", "id": "编号", "time": "时间", "department": "部门", "reply": "答复",
            "reply time": "答复时间", "column": ""}  # fmt: skip
"""``find_column``'s ``what`` in Chinese (a name not listed is shown as given)."""


def find_column(columns: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str) -> str | None:
    """The column named ``wanted``, else the first of ``candidates`` present (case- and space-insensitive)."""
    folded = {fold(c): c for c in reversed(columns)}  # the first of equal folded names wins
    if wanted is not None:
        if wanted in columns:
            return wanted
        if fold(wanted) in folded:
            return folded[fold(wanted)]
        raise InputError(tr(f"没有{_WHAT_ZH.get(what, what)}列“{wanted}”：文件的列为 {show(columns)}，请检查列名。",
                            f"No {what} column {wanted!r}: the file has columns {show(columns)}."))
    for name in candidates:
        if name.lower() in folded:
            return folded[name.lower()]
    return None


@dataclass
class Header:
    """Where the column names are among the first rows of a table, and the unique names they give."""

    row: int
    """Index of the header row among the rows looked at."""
    columns: list[str]
    second: list[int] = field(default_factory=list)
    """Indexes of second header rows right under the header (skipped)."""
    warnings: list[str] = field(default_factory=list)


def find_header(rows: Sequence[Sequence[str]], text_col: str | None, title_col: str | None) -> Header:
    """The header among ``rows`` (the first ``HEAD_ROWS`` rows, cells as text).

    The header is the first row naming the text column (``text_col``, else one of ``TEXT_COLUMNS``), else the
    first row that looks like column names, else the first non-blank row. A header with blank cells takes their
    names from a header-like row right above it (two-level headers). Rows right under the header that repeat or
    translate the names are second header rows.
    """
    wanted = {fold(text_col)} if text_col is not None else _TEXT
    row = next((i for i, cells in enumerate(rows) if any(_short(c) and fold(c) in wanted for c in cells)), None)
    if row is None:
        row = next((i for i, cells in enumerate(rows) if looks_like_header(cells)), None)
    if row is None:
        row = next((i for i, cells in enumerate(rows) if any(str(c).strip() for c in cells)), 0)
    names = [str(c).strip() for c in rows[row]] if rows else []
    if row > 0 and "" in names and looks_like_header(rows[row - 1]):
        above = rows[row - 1]
        names = [n or (str(above[j]).strip() if j < len(above) else "") for j, n in enumerate(names)]
    columns, warnings = unique_names([n or f"column_{j + 1}" for j, n in enumerate(names)])
    text = _try_find(columns, text_col, TEXT_COLUMNS)
    title = _try_find(columns, title_col, TITLE_COLUMNS)
    second = []
    if text is not None:
        named = {columns.index(text)} | ({columns.index(title)} if title else set())
        for i in range(row + 1, min(row + 3, len(rows))):
            if not _repeats_names(rows[i], names, named):
                break
            second.append(i)
    return Header(row, columns, second, warnings)


def _try_find(columns: list[str], wanted: str | None, candidates: Sequence[str]) -> str | None:
    try:
        return find_column(columns, wanted, candidates, "")
    except InputError:
        return None


def looks_like_header(cells: Sequence[str]) -> bool:
    """Several short cells, none of them numbers or dates: column names rather than a title or data."""
    values = [str(c).strip() for c in cells if str(c).strip()]
    return len(values) >= 2 and all(_short(v) and not _DATA.fullmatch(v) for v in values)


def _repeats_names(cells: Sequence[str], names: list[str], key_columns: set[int]) -> bool:
    """A row of column names (known names, or the header's own) under the header: in a text or title column,
    or, when those are blank, in at least two cells and half of the non-blank ones."""
    values = [str(c).strip() for c in cells]
    filled = [(j, v) for j, v in enumerate(values) if v]
    if not filled or any(not _short(v) or _DATA.fullmatch(v) for _, v in filled):
        return False

    def is_name(j: int, value: str) -> bool:
        return fold(value) in _KNOWN or (j < len(names) and fold(value) == fold(names[j]))

    keys = [(j, values[j]) for j in key_columns if j < len(values) and values[j]]
    if keys:
        return all(is_name(j, v) for j, v in keys)
    hits = sum(is_name(j, v) for j, v in filled)
    return hits >= 2 and 2 * hits >= len(filled)


def _short(value: object) -> bool:
    return len(str(value)) <= MAX_NAME_CHARS


def unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Names made unique (a repeated name becomes ``<name>_2`` …; the first keeps it), and a warning per name."""
    taken, unique, warnings = set(names), [], []
    seen: dict[str, list[str]] = {}
    for name in names:
        if name not in seen:
            seen[name] = []
            unique.append(name)
            continue
        n = len(seen[name]) + 2
        while f"{name}_{n}" in taken:
            n += 1
        renamed = f"{name}_{n}"
        taken.add(renamed)
        seen[name].append(renamed)
        unique.append(renamed)
    for name, renamed in seen.items():
        if renamed:
            others = ", ".join(renamed)
            warnings.append(tr(
                f"列名「{name}」出现 {len(renamed) + 1} 次：使用第一列，其余改名为 {others}",
                f"column name {name!r} appears {len(renamed) + 1} times: the first is used, the others are renamed "
                f"{others}",
            ))  # fmt: skip
    return unique, warnings


def show(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(clip(str(c))) for c in list(columns)[:20])
    return f"[{shown}{', …' if len(columns) > 20 else ''}]" if columns else tr("[]（无表头）", "[] (no header)")


def clip(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def append_columns(frame: pd.DataFrame, added: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s columns followed by ``added``'s, row by row; an input column whose name clashes with an added
    one is kept as ``<name>_input`` (``<name>_input_2`` … when the input already holds that name, as a routed
    file routed again does)."""
    taken = set(frame.columns) | set(added.columns)
    clash = {}
    for column in frame.columns:
        if column in added.columns:
            name, n = f"{column}_input", 2
            while name in taken:
                name, n = f"{column}_input_{n}", n + 1
            clash[column] = name
            taken.add(name)
    return pd.concat([frame.rename(columns=clash).reset_index(drop=True), added.reset_index(drop=True)], axis=1)
