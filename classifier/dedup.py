"""Near-duplicate messages in one file: every row kept, in order, with its duplicate group.

Two passes over the input. The first computes each row's shingles and MinHash band keys chunk by chunk, finds
candidates among earlier rows through the band table, verifies them by the exact shingle similarity and joins
matching rows (union-find). Across chunks it holds only the band table, one parent, time and similarity per row
and the ids; shingle sets wait in a temporary file, never the texts. The second pass reads the input again and
writes it with ``duplicate_group`` (the reference of the group's earliest message), ``duplicate_of`` (the same,
empty for the earliest message and for messages without a duplicate), ``similarity`` (of the row to that earliest
message) and ``dedup_status`` (``ok``, ``empty text``, ``error: <why the row could not be read>`` or, for a text
with nothing readable, route's reason: ``error: no readable text`` for HTML/CSS remnants, see ``router.check_text``;
such rows are never grouped).

The earliest message of a group is the one with the earliest time, then the first in the file. A message's
reference is its id (column ``id``, ``编号``, ``工单编号`` …, else its 1-based row number); an id that is empty or
shared by several rows is written ``<id>#<row>`` so that every reference names one row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.errors import ConfigError, InputError
from classifier.i18n import tr
from classifier.io import TableWriter, append_columns, check_output_path
from classifier.io.columns import ID_COLUMNS, TIME_COLUMNS
from classifier.message_table import NO_TIME, column, open_messages, parse_times, read_chunks, references
from classifier.minhash import THRESHOLD, BandTable, MinHashParams, ShingleSpill, Signer, candidates
from classifier.minhash import first_occurrences, similarity, text_shingles
from classifier.router import check_text

DEDUP_COLUMNS = ("duplicate_group", "duplicate_of", "similarity", "dedup_status")


@dataclass
class DedupSummary:
    output: Path
    rows: int
    groups: int
    """Groups of two or more messages."""
    duplicates: int
    """Rows with a ``duplicate_of``."""
    empty_texts: int
    read_errors: int
    unreadable_texts: int
    """Rows whose text route would not read (markup remnants, only digits or symbols): never grouped."""
    id_column: str | None
    time_column: str | None
    unparseable_times: int
    ambiguous_ids: int
    threshold: float
    seconds: float
    warnings: list[str] = field(default_factory=list)


class _Groups:
    """Union-find over row numbers, growing chunk by chunk."""

    def __init__(self) -> None:
        self.parent = np.empty(0, dtype=np.int64)

    def extend(self, count: int) -> None:
        self.parent = np.concatenate((self.parent, np.arange(len(self.parent), len(self.parent) + count)))

    def find(self, row: int) -> int:
        parent = self.parent
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return int(row)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def roots(self) -> np.ndarray:
        roots = self.parent.copy()
        while True:
            up = roots[roots]
            if np.array_equal(up, roots):
                return roots
            roots = up


class NearDuplicateFinder:
    """Feeds chunks of texts; joins each text to the earlier ones it nearly repeats."""

    def __init__(self, *, threshold: float = THRESHOLD, params: MinHashParams = MinHashParams()):
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(tr(f"阈值 {threshold} 超出范围：应为 (0, 1] 之间的相似度。",
                                 f"Threshold {threshold} is out of range: expected a similarity in (0, 1]."))
        self.threshold = threshold
        self.params = params
        self.signer = Signer(params)
        self.table = BandTable()
        self.groups = _Groups()
        self.spill = ShingleSpill()
        self.rows = 0

    def add(self, texts: list[str]) -> None:
        first = self.rows
        sets = text_shingles(texts, self.params.shingle)
        self.spill.append(sets)
        self.groups.extend(len(sets))
        self.rows += len(sets)
        filled = np.array([i for i, s in enumerate(sets) if len(s)], dtype=np.int64)
        if not len(filled):
            return
        keys = self.signer.band_keys(self.signer.signatures([sets[i] for i in filled]))
        rows = np.repeat(first + filled, keys.shape[1]).reshape(keys.shape)
        earlier = self.table.lookup(keys)
        _, first_at, inverse = first_occurrences(keys.ravel())
        in_chunk = rows.ravel()[first_at][inverse].reshape(keys.shape)
        in_chunk[in_chunk >= rows] = -1
        hits = np.concatenate((earlier, in_chunk), axis=1)
        for i, row in enumerate((first + filled).tolist()):
            own = sets[row - first]
            for other in candidates(hits[i]):
                if self.groups.find(other) == self.groups.find(row):
                    continue
                if similarity(own, self.spill[other]) >= self.threshold:
                    self.groups.union(row, other)
        self.table.add(keys, rows)

    def close(self) -> None:
        self.spill.close()


def dedup_file(
    input_path: str | Path,
    output_path: str | Path,
    *,
    threshold: float = THRESHOLD,
    text_col: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    chunk_size: int = 5000,
    params: MinHashParams = MinHashParams(),
) -> DedupSummary:
    """Write ``input_path`` to ``output_path`` with the columns of ``DEDUP_COLUMNS`` added to every row."""
    start = time.perf_counter()
    table = open_messages(input_path, text_col=text_col)
    check_output_path(output_path)
    if Path(output_path).exists() and Path(output_path).resolve() == Path(input_path).resolve():
        raise InputError(tr(f"输出文件 {output_path} 就是输入文件：请另取一个文件名（输入文件保持不变）。",
                            f"Output {output_path} is the input file: expected another file name (the input is kept)."))
    id_name = column(table, ID_COLUMNS, id_col, "id")
    time_name = column(table, TIME_COLUMNS, time_col, "time")
    finder = NearDuplicateFinder(threshold=threshold, params=params)
    ids: list[str] = []
    times: list[np.ndarray] = []
    status: list[str] = []
    unparseable = read_errors = 0
    try:
        for chunk in read_chunks(table, chunk_size):
            statuses = [_status(t, e) for t, e in zip(chunk.texts, chunk.errors)]
            finder.add([t if s == "ok" else "" for t, s in zip(chunk.texts, statuses)])
            rows = range(chunk.first_row + 1, chunk.first_row + len(chunk.texts) + 1)
            ids.extend(chunk.frame[id_name].str.strip().tolist() if id_name else map(str, rows))
            if time_name:
                parsed = parse_times(chunk.frame[time_name])
                unparseable += int(((parsed == NO_TIME) & chunk.frame[time_name].str.strip().ne("").to_numpy()).sum())
                times.append(parsed)
            status.extend(statuses)
            read_errors += sum(1 for e in chunk.errors if e)
        n = finder.rows
        order_time = np.concatenate(times) if times else np.full(n, NO_TIME, dtype=np.int64)
        roots = finder.groups.roots()
        rows = np.arange(n)
        order = np.lexsort((rows, order_time, roots))
        is_first = np.ones(n, dtype=bool)
        is_first[1:] = roots[order][1:] != roots[order][:-1]
        earliest = np.empty(n, dtype=np.int64)
        earliest[order] = order[np.maximum.accumulate(np.where(is_first, np.arange(n), 0))]
        sims = np.full(n, np.nan)
        repeats = np.flatnonzero(earliest != rows)
        anchor_row, anchor = -1, None
        for row in repeats[np.argsort(earliest[repeats], kind="stable")].tolist():
            if earliest[row] != anchor_row:
                anchor_row = int(earliest[row])
                anchor = finder.spill[anchor_row]
            sims[row] = similarity(finder.spill[row], anchor)
    finally:
        finder.close()
    refs = references(ids)
    with TableWriter(output_path) as writer:
        written = 0
        for chunk in read_chunks(open_messages(input_path, text_col=text_col), chunk_size):
            part = slice(chunk.first_row, chunk.first_row + len(chunk.texts))
            first = earliest[part]
            columns = {
                "duplicate_group": [refs[e] for e in first],
                "duplicate_of": [refs[e] if e != r else "" for e, r in zip(first, range(part.start, part.stop))],
                "similarity": ["" if np.isnan(s) else f"{s:.3f}" for s in sims[part]],
                "dedup_status": status[part],
            }
            writer.write(append_columns(chunk.frame, pd.DataFrame(columns)))
            written += len(chunk.texts)
        if written != n:
            name = Path(input_path).name
            raise InputError(tr(f"{name} 在读取过程中被修改（先读到 {n} 行，后读到 {written} 行）。",
                                f"{name} changed while it was read ({n} rows, then {written})."))
        if n == 0:
            writer.write(pd.DataFrame(columns=[*table.columns, *DEDUP_COLUMNS], dtype=str))
    sizes = np.bincount(roots, minlength=n) if n else np.zeros(0, dtype=np.int64)
    ambiguous = sum(1 for r, i in zip(refs, ids) if r != i)
    summary = DedupSummary(
        output=Path(output_path), rows=n, groups=int((sizes > 1).sum()), duplicates=int((earliest != rows).sum()),
        empty_texts=status.count("empty text"), read_errors=read_errors,
        unreadable_texts=sum(s.startswith("error") for s in status) - read_errors,
        id_column=id_name, time_column=time_name, unparseable_times=unparseable, ambiguous_ids=ambiguous,
        threshold=threshold, seconds=round(time.perf_counter() - start, 3),
    )  # fmt: skip
    summary.warnings = _warnings(summary)
    return summary


def _status(text: str, error: str) -> str:
    """``dedup_status`` of a row: its read error, ``empty text``, route's reason for a text it cannot read, or ok."""
    if error:
        return f"error: {error}"
    if not text.strip():
        return "empty text"
    reason = check_text("", text)
    return f"error: {reason}" if reason else "ok"


def _warnings(summary: DedupSummary) -> list[str]:
    notes = []
    if summary.time_column is None:
        notes.append(tr("没有时间列：每组最早的留言按文件顺序确定。",
                        "No time column: the earliest message of a group is the first in the file."))  # fmt: skip
    if summary.unparseable_times:
        notes.append(tr(f"{summary.unparseable_times} 行的时间无法解析（已保留，排在有时间的留言之后）。",
                        f"{summary.unparseable_times} rows have a time that cannot be parsed (kept; ordered after "
                        "the rows with a time)."))  # fmt: skip
    if summary.ambiguous_ids:
        what = summary.id_column or "id"
        notes.append(tr(f"{summary.ambiguous_ids} 行的编号（{what}）为空或重复：引用写作“编号#行号”。",
                        f"{summary.ambiguous_ids} rows have an empty or repeated {what}: referenced as "
                        "'<id>#<row>'."))  # fmt: skip
    if summary.read_errors:
        notes.append(tr(f"{summary.read_errors} 行无法读取（已保留，dedup_status 写明原因）。",
                        f"{summary.read_errors} rows could not be read (kept; dedup_status says why)."))  # fmt: skip
    if summary.unreadable_texts:
        notes.append(tr(f"{summary.unreadable_texts} 行没有可读的文字（如只有网页代码残留、数字或符号）：已保留，不参与查重，"
                        "dedup_status 写明原因（与 route 相同）。",
                        f"{summary.unreadable_texts} rows have no readable text (such as only web-page code remnants, "
                        "digits or symbols): kept, never grouped; dedup_status says why (as route does)."))  # fmt: skip
    return notes
