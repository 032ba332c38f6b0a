"""Reading message tables for dedup, repeats and hotspots: chunks of rows with their text, id, time and writer.

Every other column of the input is kept as read. ``read_chunks`` is the one place that deals with rows the reader
could not parse (kept, with the reason in ``MessageChunk.errors``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.io import Table, find_column, open_table

CLOSED_STATUSES = frozenset({"closed", "done", "resolved", "办结", "已办结", "已关闭", "已完成", "已解决", "结案", "已结案"})
NO_TIME = np.iinfo(np.int64).max
"""Sort key of a row whose time is missing or unparseable: after every real time."""


@dataclass
class MessageChunk:
    """Consecutive rows of a table: the input columns as strings, and per row its text and read error."""

    first_row: int
    frame: pd.DataFrame
    texts: list[str]
    titles: list[str]
    errors: list[str]


def read_chunks(table: Table, size: int) -> Iterator[MessageChunk]:
    """The table's rows in order, ``size`` at a time; a row the reader could not parse has an empty text and its
    reason in ``errors`` (nothing is dropped)."""
    first = 0
    for chunk in table.chunks(size):
        frame = chunk.frame.fillna("").reset_index(drop=True)
        texts = [t if not e else "" for t, e in zip(frame[table.text_col].tolist(), chunk.errors)]
        titles = frame[table.title_col].tolist() if table.title_col else [""] * len(frame)
        yield MessageChunk(first, frame, texts, titles, list(chunk.errors))
        first += len(frame)


def open_messages(path: str | Path, *, text_col: str | None = None, title_col: str | None = None) -> Table:
    """``io.open_table`` for these commands (kept here so that reader changes touch one module)."""
    return open_table(path, text_col=text_col, title_col=title_col)


def column(table: Table, names: Sequence[str], wanted: str | None = None, what: str = "column") -> str | None:
    """The table's column named ``wanted`` (an error if absent), else the first of ``names`` it has."""
    return find_column(table.columns, wanted, names, what)


def references(ids: list[str]) -> list[str]:
    """Each row's reference: its id, or ``<id>#<row>`` (1-based) where the id is empty or shared by other rows."""
    shared = pd.Series(ids, dtype=str).duplicated(keep=False).to_numpy()
    return [f"{i}#{n + 1}" if (s or not i) else i for n, (i, s) in enumerate(zip(ids, shared))]


_CHINESE_DATE = str.maketrans({"年": "-", "月": "-", "日": " ", "时": ":", "分": ":", "秒": " "})


def parse_times(values: Sequence[str]) -> np.ndarray:
    """Nanoseconds since the epoch per value, ``NO_TIME`` for an empty or unparseable one.

    Accepts ``2019/2/28 11:25:05``, ``2019-02-28T11:25``, ``2019年2月28日 11时25分`` and similar.
    """
    text = pd.Series(list(values), dtype=str).fillna("").str.strip().str.translate(_CHINESE_DATE).str.strip()
    parsed = pd.to_datetime(text.str.rstrip(":"), errors="coerce", format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    out = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    out[parsed.isna().to_numpy()] = NO_TIME
    return out


def format_time(value: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` for a parsed time, empty for ``NO_TIME``."""
    return "" if value == NO_TIME else str(pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S"))
