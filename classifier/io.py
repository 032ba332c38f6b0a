"""Reading and writing message tables: CSV, TSV, XLSX and JSONL, optionally gzip-compressed.

Tables are read in chunks of string columns (nothing is parsed as a number, empty cells stay empty), the
encoding of text files is detected (UTF-8, UTF-8 with BOM, GBK/GB18030), and the text and title columns are
found by their usual names. Outputs are written to a temporary file beside the target and renamed at the end,
so an interrupted run never leaves a partial file under the output name.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TEXT_COLUMNS = (
    "text", "留言详情", "content", "内容", "诉求内容", "留言内容", "来信内容", "诉求", "问题描述",
    "详情", "正文", "message", "body", "description",
)  # fmt: skip
TITLE_COLUMNS = ("title", "留言主题", "标题", "主题", "诉求标题", "subject", "summary")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}
ERROR_COLUMN = "__read_error__"
"""Column carried by chunks whose rows could not be parsed (malformed JSONL lines); empty when the row is fine."""
EXCEL_MAX_ROWS = 1_048_575


class InputError(ValueError):
    """The input file cannot be used; the message says what was expected and what was found."""


def table_format(path: str | Path) -> tuple[str, bool]:
    """(format, gzipped) from a file name such as ``day.csv`` or ``day.jsonl.gz``."""
    name = Path(path).name.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix not in FORMATS or (gzipped and FORMATS[suffix] == "xlsx"):
        known = ", ".join(sorted(FORMATS)) + " (text formats also as .gz)"
        raise InputError(f"Unsupported file type {Path(path).name!r}: expected one of {known}.")
    return FORMATS[suffix], gzipped


def _open_binary(path: Path, gzipped: bool):
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample: utf-8-sig, utf-8 or gb18030 (a superset of GBK and GB2312)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("The file is UTF-16 encoded: expected UTF-8, UTF-8 with BOM, GBK or GB18030; save it as UTF-8.")
    if b"\x00" in sample:
        raise InputError("The file looks binary (it contains NUL bytes): expected a text table (CSV, TSV or JSONL).")
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InputError("Cannot decode the file: expected UTF-8, UTF-8 with BOM, GBK or GB18030 text.")


def find_column(columns: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str) -> str | None:
    """The column named ``wanted``, else the first of ``candidates`` present (case- and space-insensitive)."""
    folded = {str(c).strip().lower(): c for c in columns}
    if wanted is not None:
        if wanted in columns:
            return wanted
        if wanted.strip().lower() in folded:
            return folded[wanted.strip().lower()]
        raise InputError(f"No {what} column {wanted!r}: the file has columns {_show(columns)}.")
    for name in candidates:
        if name.lower() in folded:
            return folded[name.lower()]
    return None


def _show(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(str(c)) for c in list(columns)[:20])
    return f"[{shown}{', …' if len(columns) > 20 else ''}]" if columns else "[] (no header)"


@dataclass
class Table:
    """An input table opened for chunked reading; ``text_col``/``title_col`` are resolved column names."""

    path: Path
    format: str
    gzipped: bool
    encoding: str | None
    columns: list[str]
    text_col: str
    title_col: str | None
    _jsonl_columns: list[str] = field(default_factory=list, repr=False)

    def chunks(self, size: int = 20_000) -> Iterator[pd.DataFrame]:
        """The rows in order, ``size`` at a time, every column as ``str``."""
        try:
            if self.format in ("csv", "tsv"):
                yield from self._csv_chunks(size)
            elif self.format == "xlsx":
                yield from self._xlsx_chunks(size)
            else:
                yield from self._jsonl_chunks(size)
        except UnicodeDecodeError as error:
            raise InputError(
                f"Cannot decode {self.path.name} as {self.encoding} at byte {error.start} of a chunk: "
                "expected one encoding throughout the file (UTF-8, GBK or GB18030)."
            ) from None
        except (pd.errors.ParserError, csv.Error) as error:
            raise InputError(f"Malformed {self.format.upper()} in {self.path.name}: {str(error).strip()}") from None

    def _csv_chunks(self, size: int) -> Iterator[pd.DataFrame]:
        reader = pd.read_csv(
            self.path,
            sep="," if self.format == "csv" else "\t",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=self.encoding,
            compression="gzip" if self.gzipped else None,
            chunksize=size,
            skip_blank_lines=False,
        )
        with reader:
            for chunk in reader:
                chunk.columns = self.columns
                yield chunk

    def _xlsx_chunks(self, size: int) -> Iterator[pd.DataFrame]:
        rows = _xlsx_rows(self.path)
        next(rows, None)
        width = len(self.columns)
        batch: list[list[str]] = []
        for values in rows:
            cells = [_cell(v) for v in values[:width]]
            batch.append(cells + [""] * (width - len(cells)))
            if len(batch) == size:
                yield pd.DataFrame(batch, columns=self.columns, dtype=str)
                batch = []
        if batch:
            yield pd.DataFrame(batch, columns=self.columns, dtype=str)

    def _jsonl_chunks(self, size: int) -> Iterator[pd.DataFrame]:
        columns = self._jsonl_columns
        batch: list[dict] = []
        for number, record in _jsonl_records(self.path, self.gzipped, self.encoding):
            if isinstance(record, dict):
                row = {c: _cell(record.get(c)) for c in columns}
                row[ERROR_COLUMN] = ""
            else:
                row = dict.fromkeys(columns, "")
                row[ERROR_COLUMN] = f"line {number} is not a JSON object"
            batch.append(row)
            if len(batch) == size:
                yield pd.DataFrame(batch, columns=[*columns, ERROR_COLUMN], dtype=str)
                batch = []
        if batch:
            yield pd.DataFrame(batch, columns=[*columns, ERROR_COLUMN], dtype=str)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[tuple]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError) as error:
        raise InputError(f"Cannot open {path.name} as an Excel workbook (.xlsx): {error}") from None
    try:
        yield from sheet.iter_rows(values_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise InputError(f"Corrupt Excel workbook {path.name}: {error}") from None
    finally:
        workbook.close()


def _jsonl_records(path: Path, gzipped: bool, encoding: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed value or None when the line is not valid JSON), blank lines skipped."""
    with _open_binary(path, gzipped) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError:
                yield number, None


def open_table(path: str | Path, *, text_col: str | None = None, title_col: str | None = None) -> Table:
    """Open ``path`` for reading, detecting format, encoding and the text/title columns.

    Raises ``InputError`` (a ``ValueError``) or ``FileNotFoundError`` with a one-line reason.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input file not found: {path}")
    if path.is_dir():
        raise InputError(f"Input {path} is a folder: expected a table file.")
    fmt, gzipped = table_format(path)
    if path.stat().st_size == 0:
        raise InputError(f"Input {path.name} is empty (0 bytes): expected a header row with a text column.")
    encoding = None
    jsonl_columns: list[str] = []
    if fmt == "xlsx":
        if not zipfile.is_zipfile(path):
            raise InputError(f"Cannot open {path.name} as an Excel workbook (.xlsx): it is not a valid .xlsx file.")
        header = next(_xlsx_rows(path), None) or ()
        columns = [_cell(v) or f"column_{i + 1}" for i, v in enumerate(header)]
    else:
        try:
            with _open_binary(path, gzipped) as handle:
                sample = handle.read(1 << 20)
        except (OSError, EOFError) as error:
            raise InputError(f"Cannot read {path.name} as a gzip file: {error}") from None
        if not sample.strip():
            raise InputError(f"Input {path.name} holds no data: expected a header row with a text column.")
        encoding = detect_encoding(sample)
        if fmt == "jsonl":
            jsonl_columns = _jsonl_keys(path, gzipped, encoding)
            columns = jsonl_columns
        else:
            columns = _csv_header(sample, encoding, "," if fmt == "csv" else "\t")
    if len(set(columns)) != len(columns):
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        raise InputError(f"Duplicate column names {duplicated} in {path.name}: expected unique column names.")
    text = find_column(columns, text_col, TEXT_COLUMNS, "text")
    if text is None:
        raise InputError(
            f"No text column in {path.name}: expected one named {', '.join(TEXT_COLUMNS[:5])} … "
            f"or given with --text-col; found {_show(columns)}."
        )
    title = find_column(columns, title_col, TITLE_COLUMNS, "title")
    return Table(path, fmt, gzipped, encoding, columns, text, title, jsonl_columns)


def _csv_header(sample: bytes, encoding: str, sep: str) -> list[str]:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    first = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    return [c.strip() or f"column_{i + 1}" for i, c in enumerate(first)]


def _jsonl_keys(path: Path, gzipped: bool, encoding: str) -> list[str]:
    keys: dict[str, None] = {}
    try:
        for _, record in _jsonl_records(path, gzipped, encoding):
            if isinstance(record, dict):
                keys.update(dict.fromkeys(map(str, record)))
    except UnicodeDecodeError:
        raise InputError(f"Cannot decode {path.name} as {encoding}: expected one encoding throughout.") from None
    if not keys:
        raise InputError(f"No JSON object found in {path.name}: expected one JSON object per line.")
    return list(keys)


def check_output_path(path: str | Path) -> Path:
    """Fail early, with a clear reason, when ``path`` cannot be written."""
    path = Path(path)
    table_format(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"Output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"Output folder is not writable: {folder}")
    if path.is_dir():
        raise InputError(f"Output {path} is a folder: expected a file name such as routed.csv.")
    return path


class TableWriter:
    """Writes DataFrame chunks to a temporary file and renames it to ``path`` on ``commit``."""

    def __init__(self, path: str | Path):
        self.path = check_output_path(path)
        self.format, self.gzipped = table_format(self.path)
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        os.close(fd)
        self._temp = Path(temp)
        self._rows = 0
        self._header_written = False
        self._handle = None
        self._workbook = None

    def write(self, chunk: pd.DataFrame) -> None:
        if self.format == "xlsx":
            self._write_xlsx(chunk)
            return
        if self._handle is None:
            raw = gzip.open(self._temp, "wb") if self.gzipped else open(self._temp, "wb")
            encoding = "utf-8" if self.format == "jsonl" else "utf-8-sig"
            self._handle = io.TextIOWrapper(raw, encoding=encoding, newline="")
        if self.format == "jsonl":
            for record in chunk.to_dict(orient="records"):
                self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            chunk.to_csv(
                self._handle,
                sep="," if self.format == "csv" else "\t",
                index=False,
                header=not self._header_written,
                lineterminator="\n",
            )
        self._header_written = True
        self._rows += len(chunk)

    def _write_xlsx(self, chunk: pd.DataFrame) -> None:
        from openpyxl import Workbook

        if self._workbook is None:
            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("routed")
            self._sheet.append(list(chunk.columns))
        if self._rows + len(chunk) > EXCEL_MAX_ROWS:
            raise InputError(f"Too many rows for an .xlsx output (limit {EXCEL_MAX_ROWS}): write .csv instead.")
        for row in chunk.itertuples(index=False, name=None):
            self._sheet.append([_excel_value(v) for v in row])
        self._rows += len(chunk)

    def commit(self) -> Path:
        """Finish the file and move it to its final name."""
        if self._workbook is not None:
            self._workbook.save(self._temp)
        elif self._handle is not None:
            self._handle.close()
        os.replace(self._temp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the output name is left untouched."""
        if self._handle is not None:
            self._handle.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def _excel_value(value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(" ", value)
    return value


def read_table(path: str | Path, **columns) -> tuple[pd.DataFrame, Table]:
    """The whole table in memory (for training and evaluation data), with its resolved columns."""
    table = open_table(path, **columns)
    chunks = list(table.chunks())
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=table.columns, dtype=str)
    return frame, table
