"""Opening an input table: format, encoding, sheet, header row and the text/title columns, then chunked reading."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from classifier.errors import InputError, MissingFileError
from classifier.i18n import tr
from classifier.io.chunk import Chunk
from classifier.io.columns import TEXT_COLUMNS, TITLE_COLUMNS, Header, find_column, find_header, fold, show, unique_names
from classifier.io.dataset import DatasetReader, check_same_columns, dataset_files, is_empty
from classifier.io.delimited import DelimitedReader
from classifier.io.encoding import sniff
from classifier.io.excel import WorkbookReader, workbook_kind
from classifier.io.formats import is_glob, table_format
from classifier.io.jsonl import JsonlReader
from classifier.io.parquet import ParquetReader

EXCEL_FORMATS = ("xlsx", "xls")


@dataclass
class Table:
    """An input table opened for chunked reading, and what was found out about it.

    ``text_col``/``title_col`` are the resolved column names, ``sheet`` the worksheet read (workbooks only),
    ``header_row`` the line (text files) or row (workbooks) of the header, 1-based (0 for JSONL), and
    ``second_header_rows`` the rows right under it that repeated the names and were skipped. ``warnings`` holds
    what the user should know (renamed duplicate columns, lines read in another encoding …); reading adds to it,
    so it is complete once ``chunks`` has run to the end.
    """

    path: Path
    format: str
    gzipped: bool
    encoding: str | None
    columns: list[str]
    text_col: str
    title_col: str | None
    sheet: str | None = None
    header_row: int = 1
    second_header_rows: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    partitions: list[Path] = field(default_factory=list)
    """The files of a dataset (a folder or a glob), in the order they are read; empty for a single file."""
    _reader: DelimitedReader | WorkbookReader | JsonlReader | ParquetReader | DatasetReader | None = field(default=None, repr=False)
    _skip: int = field(default=1, repr=False)
    _sheet_index: int = field(default=0, repr=False)

    def chunks(self, size: int = 20_000) -> Iterator[Chunk]:
        """The rows in order, ``size`` at a time, every column as ``str``, with the reason of each unreadable row."""
        reader = self._reader
        try:
            if isinstance(reader, DelimitedReader):
                yield from reader.chunks(self.columns, self._skip, size)
            elif isinstance(reader, WorkbookReader):
                yield from reader.chunks(self._sheet_index, self.columns, self._skip, size)
            else:
                yield from reader.chunks(self.columns, size)
        except csv.Error as error:
            raise InputError(tr(f"{self.path.name} 不是格式正确的 {self.format.upper()}：{str(error).strip()}",
                                f"Malformed {self.format.upper()} in {self.path.name}: {str(error).strip()}")) from None
        self.warnings.extend(w for w in reader.warnings if w not in self.warnings)

    def estimate_rows(self) -> int | None:
        """About how many rows ``chunks`` gives (for a progress display), or None when unknown."""
        reader = self._reader
        if isinstance(reader, DelimitedReader):
            return reader.estimate_rows(self._skip)
        if isinstance(reader, WorkbookReader):
            size = reader.size(self._sheet_index)
            return None if size is None else max(size - self._skip, 0)
        return reader.estimate_rows()

    def describe(self) -> str:
        """One line saying what is read: sheet, header row, text and title columns (for stderr)."""
        parts = []
        if self.partitions:
            parts.append(tr(f"{len(self.partitions)} 个文件", f"{len(self.partitions)} files"))
        if self.sheet is not None:
            parts.append(tr(f"工作表「{self.sheet}」", f"sheet {self.sheet!r}"))
        if self.header_row > 1 or self.second_header_rows:
            parts.append(tr(f"表头在第 {self.header_row} 行", f"header on row {self.header_row}"))
        if self.second_header_rows:
            rows = "、".join(map(str, self.second_header_rows))
            parts.append(tr(f"跳过第 {rows} 行（第二表头）", f"second header row {rows} skipped"))
        parts.append(tr(f"正文列「{self.text_col}」", f"text column {self.text_col!r}"))
        if self.title_col:
            parts.append(tr(f"标题列「{self.title_col}」", f"title column {self.title_col!r}"))
        else:
            parts.append(tr("无标题列", "no title column"))
        if self.encoding and self.encoding not in ("utf-8", "utf-8-sig"):
            parts.append(tr(f"编码 {self.encoding.upper()}", f"encoding {self.encoding.upper()}"))
        return tr(f"读取 {self.path.name}：", f"reading {self.path.name}: ") + tr("，", ", ").join(parts)


def open_table(
    path: str | Path, *, text_col: str | None = None, title_col: str | None = None, sheet: str | int | None = None
) -> Table:
    """Open ``path`` for reading, detecting format, encoding, sheet, header row and the text/title columns.

    ``sheet`` (workbooks only): a sheet name, or its number counted from 1; by default the first sheet with a
    text column. ``path`` may also be a dataset: a folder of table files or a glob (``tickets/*.parquet``), read
    as one table (``classifier.io.dataset``). Raises ``InputError`` (``MissingFileError`` for a missing file) with a
    one-line reason.
    """
    if Path(path).is_dir() or (not Path(path).exists() and is_glob(path)):
        return _open_dataset(path, text_col, title_col, sheet)
    path = Path(path)
    if not path.exists():
        raise MissingFileError(tr(f"找不到输入文件：{path}", f"Input file not found: {path}"))
    fmt, gzipped = table_format(path)
    if path.stat().st_size == 0:
        raise InputError(tr(f"输入文件 {path.name} 是空的（0 字节）：应有一行表头，其中包含正文列。",
                            f"Input {path.name} is empty (0 bytes): expected a header row with a text column."))
    warnings = []
    if fmt in EXCEL_FORMATS:
        kind = workbook_kind(path, fmt)
        if kind == "tsv":
            warnings.append(tr(f"{path.name} 不是 Excel 工作簿，而是制表符分隔的文本：按 TSV 读取",
                               f"{path.name} is tab-separated text, not an Excel workbook: read as TSV"))  # fmt: skip
        fmt = kind
    if sheet is not None and fmt not in EXCEL_FORMATS:
        raise InputError(tr(f"为 {path.name} 指定了工作表（{sheet!r}），但它不是 Excel 工作簿：--sheet 只用于 .xlsx、.xls 文件。",
                            f"A sheet ({sheet!r}) was given for {path.name}: expected an Excel workbook (.xlsx, .xls)."))
    if fmt in EXCEL_FORMATS:
        return _open_workbook(path, fmt, text_col, title_col, sheet, warnings)
    if fmt == "parquet":
        reader = ParquetReader(path)
        columns, renamed = unique_names(reader.columns)
        text, title = _text_and_title(columns, text_col, title_col, path.name)
        return Table(path, fmt, False, None, columns, text, title, header_row=0, warnings=warnings + renamed,
                     _reader=reader, _skip=0)  # fmt: skip
    sniffed = sniff(path, gzipped)
    if fmt == "jsonl":
        reader = JsonlReader(path, gzipped, sniffed)
        columns = reader.keys()
        text, title = _text_and_title(columns, text_col, title_col, path.name)
        return Table(path, fmt, gzipped, sniffed.encoding, columns, text, title, header_row=0, warnings=warnings,
                     _reader=reader, _skip=0)  # fmt: skip
    reader = DelimitedReader(path, fmt, gzipped, sniffed)
    try:
        head = reader.head()
    except csv.Error as error:
        raise InputError(tr(f"{path.name} 不是格式正确的 {fmt.upper()}：{str(error).strip()}",
                            f"Malformed {fmt.upper()} in {path.name}: {str(error).strip()}")) from None
    header = find_header([cells for _, cells in head], text_col, title_col)
    text, title = _text_and_title(header.columns, text_col, title_col, path.name)
    lines = [line for line, _ in head]
    return Table(
        path, fmt, gzipped, sniffed.encoding, header.columns, text, title,
        header_row=lines[header.row] if lines else 1,
        second_header_rows=[lines[i] for i in header.second],
        warnings=warnings + header.warnings,
        _reader=reader, _skip=header.row + 1 + len(header.second),
    )  # fmt: skip


def _open_dataset(source, text_col, title_col, sheet) -> Table:
    files, warnings = dataset_files(source)
    parts, empty = [], []
    for file in files:
        if is_empty(file):
            empty.append(file.name)
            continue
        part = open_table(file, text_col=text_col, title_col=title_col, sheet=sheet)
        if parts:
            check_same_columns(parts[0], part)
        parts.append(part)
    if empty:
        names = ", ".join(empty[:5]) + (" …" if len(empty) > 5 else "")
        warnings.append(tr(f"跳过 {len(empty)} 个空文件（无行）：{names}", f"{len(empty)} empty files (no rows) skipped: {names}"))
    if not parts:
        raise InputError(tr(f"{source} 中的文件全是空的：至少应有一个含表头和数据行的文件。",
                            f"Every file of {source} is empty: expected at least one file with a header and rows."))
    first = parts[0]
    return Table(Path(source), "dataset", False, None, first.columns, first.text_col, first.title_col, header_row=0,
                 warnings=warnings, partitions=[p.path for p in parts], _reader=DatasetReader(parts), _skip=0)  # fmt: skip


def _open_workbook(path: Path, fmt: str, text_col, title_col, sheet, warnings: list[str]) -> Table:
    reader = WorkbookReader(path, fmt)
    names = reader.sheet_names
    candidates = [_sheet_number(names, sheet, path.name)] if sheet is not None else range(len(names))
    index, header = 0, Header(0, [])
    for number in candidates:
        found = find_header(reader.head(number), text_col, title_col)
        if number == candidates[0]:
            index, header = number, found
        if _has_text(found.columns, text_col):
            index, header = number, found
            break
    where = tr(f" 的工作表“{names[index]}”，共 {len(names)} 个工作表", f" (sheet {names[index]!r} of {len(names)})") if len(names) > 1 else ""
    text, title = _text_and_title(header.columns, text_col, title_col, path.name + where)
    return Table(
        path, fmt, False, None, header.columns, text, title, sheet=names[index],
        header_row=header.row + 1, second_header_rows=[i + 1 for i in header.second],
        warnings=warnings + header.warnings,
        _reader=reader, _skip=header.row + 1 + len(header.second), _sheet_index=index,
    )  # fmt: skip


def _has_text(columns: list[str], text_col: str | None) -> bool:
    folded = {fold(c) for c in columns}
    return fold(text_col) in folded if text_col is not None else any(n.lower() in folded for n in TEXT_COLUMNS)


def _sheet_number(names: list[str], sheet: str | int, file_name: str) -> int:
    """The 0-based number of the sheet named ``sheet`` (or numbered ``sheet``, from 1)."""
    if isinstance(sheet, str) and sheet in names:
        return names.index(sheet)
    text = str(sheet).strip()
    if text.isdigit() and 1 <= int(text) <= len(names):
        return int(text) - 1
    raise InputError(tr(f"{file_name} 中没有工作表 {sheet!r}：应为工作表名称或 1 到 {len(names)} 的序号；现有工作表为 {names}。",
                        f"No sheet {sheet!r} in {file_name}: expected a name or a number from 1 to {len(names)}; "
                        f"the sheets are {names}."))  # fmt: skip


def _text_and_title(columns: list[str], text_col: str | None, title_col: str | None, where: str):
    text = find_column(columns, text_col, TEXT_COLUMNS, "text")
    if text is None:
        raise InputError(tr(
            f"没有找到正文列（{where}）：应有名为 {'、'.join(TEXT_COLUMNS[:5])}等的列，或用 --text-col 指定；"
            f"实际的列为 {show(columns)}。",
            f"No text column in {where}: expected one named {', '.join(TEXT_COLUMNS[:5])} … "
            f"or given with --text-col; found {show(columns)}.",
        ))
    title = find_column(columns, title_col, [c for c in TITLE_COLUMNS if c.lower() != text.strip().lower()], "title")
    return text, None if title == text else title


def read_table(path: str | Path, **options) -> tuple[pd.DataFrame, Table]:
    """The whole table in memory (for training and evaluation data), with its resolved columns.

    ``options`` are those of ``open_table``. A row that cannot be read is an ``InputError``: data to learn from
    or to score against must be clean.
    """
    table = open_table(path, **options)
    frames, bad, first = [], 0, ""
    for chunk in table.chunks():
        frames.append(chunk.frame)
        if chunk.has_errors:
            reasons = [e for e in chunk.errors if e]
            bad += len(reasons)
            first = first or reasons[0]
    if bad:
        raise InputError(tr(f"{table.path.name}：{first}（共 {bad} 行有此类问题）；请修正或删除这些行后再用此文件训练或评估。",
                            f"{table.path.name}: {first} ({bad} such rows); fix or remove them to train or evaluate "
                            "on this file."))  # fmt: skip
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=table.columns, dtype=str)
    return frame, table


def estimate_rows(path: str | Path, **options) -> int | None:
    """About how many rows ``path`` holds (for a progress display), or None when that cannot be told.

    ``options`` are those of ``open_table``. Line breaks inside quoted fields are accounted for by the records
    per line of the file's first MiB; an unusable file gives None (``open_table`` will say why).
    """
    try:
        if Path(path).is_dir() or is_glob(path):
            return open_table(path, **options).estimate_rows()
        fmt, gzipped = table_format(path)
        if fmt == "jsonl":  # opening a JSONL table reads it all (for its keys): not for an estimate
            return JsonlReader(Path(path), gzipped, sniff(Path(path), gzipped)).estimate_rows()
        return open_table(path, **options).estimate_rows()
    except (InputError, OSError):
        return None
