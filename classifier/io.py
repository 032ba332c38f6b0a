"""Reading and writing message tables: CSV, TSV, XLSX and JSONL, optionally gzip-compressed.

Tables are read in chunks of string columns (nothing is parsed as a number, empty cells stay empty), the
encoding of text files is detected (UTF-8, UTF-8 with BOM, GBK/GB18030), and the text and title columns are
found by their usual names. Every record of the input gives one row: a record that cannot be parsed (a CSV line
with more fields than the header, a JSONL line that is not a JSON object) is kept, in place, with the reason in
``ERROR_COLUMN``. Outputs are written to a temporary file beside the target and renamed at the end, so an
interrupted run never leaves a partial file under the output name.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from classifier.errors import InputError, MissingFileError

TEXT_COLUMNS = (
    "text", "留言详情", "content", "内容", "诉求内容", "留言内容", "来信内容", "诉求", "问题描述",
    "详情", "正文", "message", "body", "description",
)  # fmt: skip
TITLE_COLUMNS = ("title", "留言主题", "标题", "主题", "诉求标题", "subject", "summary")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}
ERROR_COLUMN = "__read_error__"
"""Column carried by chunks whose rows could not be parsed (malformed CSV records or JSONL lines); empty when the
row is fine. JSONL chunks always carry it, CSV/TSV chunks only when one of their rows is malformed."""
EXCEL_MAX_ROWS = 1_048_575
EXCEL_MAX_CELL_CHARS = 32_767
EXCEL_CUT = "…[cut: longer than an Excel cell allows; write .csv to keep it whole]"
_SAMPLE_BYTES = 1 << 20
_MAX_LOOKAHEAD_SAMPLES = 64
"""An ASCII-only start is followed for at most this many more samples (64 MiB) to find the encoding."""


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
        if _looks_utf16(sample):
            raise InputError(
                "The file looks UTF-16 encoded (no BOM): expected UTF-8, UTF-8 with BOM, GBK or GB18030; "
                "save it as UTF-8."
            )
        raise InputError("The file looks binary (it contains NUL bytes): expected a text table (CSV, TSV or JSONL).")
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
    except UnicodeDecodeError as error:
        offset, byte = error.start, sample[error.start]
    raise InputError(
        "Cannot decode the file: expected UTF-8, UTF-8 with BOM, GBK or GB18030 text; "
        f"found byte 0x{byte:02x} at offset {offset} that none of them allows there."
    )


def _looks_utf16(sample: bytes) -> bool:
    """NUL bytes on every other position: UTF-16 text of mostly ASCII or CJK without a BOM."""
    head = sample[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return max(even, odd) >= len(head) // 4 and min(even, odd) <= max(even, odd) // 20


def _sniff(path: Path, gzipped: bool) -> tuple[bytes, str]:
    """(the first MiB, the encoding) of a text file.

    When the first MiB is plain ASCII the encoding is decided on the first later MiB that is not (looking at most
    64 MiB ahead), so that a GBK file that starts with a long ASCII stretch is not taken for UTF-8 and rejected
    half-way; a larger all-ASCII start is read as UTF-8.
    """
    try:
        with _open_binary(path, gzipped) as handle:
            head = later = handle.read(_SAMPLE_BYTES)
            for _ in range(_MAX_LOOKAHEAD_SAMPLES):
                if not later.isascii() or len(later) < _SAMPLE_BYTES:
                    break
                later = handle.read(_SAMPLE_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        kind = "a gzip-compressed file" if gzipped else "a file"
        raise InputError(f"Cannot read {path.name} as {kind}: {error}") from None
    if not head.strip():
        raise InputError(f"Input {path.name} holds no data: expected a header row with a text column.")
    try:
        encoding = detect_encoding(head)
        if head.isascii() and not later.isascii():
            encoding = detect_encoding(later)
    except InputError as error:
        raise InputError(f"{path.name}: {error}") from None
    return head, encoding


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
    shown = ", ".join(repr(_clip(str(c))) for c in list(columns)[:20])
    return f"[{shown}{', …' if len(columns) > 20 else ''}]" if columns else "[] (no header)"


def _clip(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


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
        # Python's csv module, not pandas: a record with more fields than the header must become an error row
        # in place (pandas shifts a first such row into the index and drops its first cell, or fails the file).
        if csv.field_size_limit() < sys.maxsize:
            csv.field_size_limit(sys.maxsize)
        columns, width = self.columns, len(self.columns)
        with _open_text(self.path, self.gzipped, self.encoding) as handle:
            lines = _LineTracker(handle)
            reader = csv.reader(lines, delimiter="," if self.format == "csv" else "\t", strict=False)
            next(reader, None)
            lines.next_record()
            rows: list[list[str]] = []
            errors: list[str] = []
            blank = 0  # blank lines, kept as empty rows only when a record follows (not at the end of the file)
            for record in reader:
                first_line = lines.record_start
                lines.next_record()
                if not record:
                    blank += 1
                    continue
                pending = [([""] * width, "")] * blank
                blank = 0
                if len(record) > width:
                    reason = f"line {first_line} has {len(record)} fields, the header has {width}"
                    pending.append((record[:width], reason))
                else:
                    pending.append((record + [""] * (width - len(record)), ""))
                for row, error in pending:
                    rows.append(row)
                    errors.append(error)
                    if len(rows) == size:
                        yield _string_frame(rows, columns, errors)
                        rows, errors = [], []
            if lines.unterminated_quote(self.format):
                raise InputError(
                    f"Malformed {self.format.upper()} in {self.path.name}: a quote opened on line "
                    f"{lines.last_record_start} is never closed (the rest of the file would be one cell)."
                )
            if rows:
                yield _string_frame(rows, columns, errors)

    def _xlsx_chunks(self, size: int) -> Iterator[pd.DataFrame]:
        rows = _xlsx_rows(self.path)
        next(rows, None)
        width = len(self.columns)
        batch: list[list[str]] = []
        blank: list[list[str]] = []  # empty rows, kept only when a non-empty row follows
        for values in rows:
            cells = [_cell(v) for v in values[:width]]
            cells += [""] * (width - len(cells))
            if not any(cells) and not any(_cell(v) for v in values[width:]):
                blank.append(cells)
                continue
            for row in [*blank, cells]:
                batch.append(row)
                if len(batch) == size:
                    yield pd.DataFrame(batch, columns=self.columns, dtype=str)
                    batch = []
            blank = []
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
                row[ERROR_COLUMN] = f"line {number} is not valid JSON" if record is _MALFORMED else (
                    f"line {number} is a JSON {type(record).__name__.replace('NoneType', 'null')}, not an object"
                )
            batch.append(row)
            if len(batch) == size:
                yield pd.DataFrame(batch, columns=[*columns, ERROR_COLUMN], dtype=str)
                batch = []
        if batch:
            yield pd.DataFrame(batch, columns=[*columns, ERROR_COLUMN], dtype=str)


def _string_frame(rows: list[list[str]], columns: list[str], errors: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns, dtype=str)
    if any(errors):
        frame[ERROR_COLUMN] = errors
    return frame


class _LineTracker:
    """Feeds a text stream to ``csv.reader`` line by line, remembering where each record starts."""

    def __init__(self, handle):
        self._lines = iter(handle)
        self.line = 0
        self.record_start = 1
        self.last_record_start = 1
        self._record: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.line += 1
        self._record.append(line)
        return line

    def next_record(self) -> None:
        self.last_record_start = self.record_start
        self.record_start = self.line + 1
        self._last = self._record
        self._record = []

    def unterminated_quote(self, fmt: str) -> bool:
        """True when the last record ran to the end of the file inside a quoted field."""
        last = getattr(self, "_last", None)
        if not last or not any('"' in line for line in last):
            return False
        try:
            list(csv.reader(last, delimiter="," if fmt == "csv" else "\t", strict=True))
        except csv.Error as error:
            return "unexpected end of data" in str(error)
        return False


def _open_text(path: Path, gzipped: bool, encoding: str | None):
    return io.TextIOWrapper(_open_binary(path, gzipped), encoding=encoding, newline="")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return _clip(text, 200) if text else type(error).__name__


def _xlsx_rows(path: Path) -> Iterator[tuple]:
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError, TypeError, EOFError, zlib.error,
            InvalidFileException, ParseError) as error:  # fmt: skip
        raise InputError(f"Cannot open {path.name} as an Excel workbook (.xlsx): {_one_line(error)}") from None
    try:
        yield from sheet.iter_rows(values_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError, zlib.error, ParseError) as error:
        raise InputError(f"Corrupt Excel workbook {path.name}: {_one_line(error)}") from None
    finally:
        workbook.close()


_MALFORMED = object()


def _jsonl_records(path: Path, gzipped: bool, encoding: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed value or ``_MALFORMED`` when the line is not valid JSON), blank lines skipped.

    Lines end at ``\\n`` only (a JSON string cannot hold a raw line break, and a stray ``\\r`` must not split
    a record in two); numbers are those a text editor shows.
    """
    with _open_text(path, gzipped, encoding) as handle:
        number = 0
        for number, line in enumerate(_split_lf(handle), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                yield number, _MALFORMED


def _split_lf(handle) -> Iterator[str]:
    pending = ""
    for block in iter(lambda: handle.read(1 << 16), ""):
        pending += block
        *lines, pending = pending.split("\n")
        yield from lines
    if pending:
        yield pending


def open_table(path: str | Path, *, text_col: str | None = None, title_col: str | None = None) -> Table:
    """Open ``path`` for reading, detecting format, encoding and the text/title columns.

    Raises ``InputError`` (a ``ValueError``) or ``FileNotFoundError`` with a one-line reason.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"Input file not found: {path}")
    if path.is_dir():
        raise InputError(f"Input {path} is a folder: expected a table file.")
    fmt, gzipped = table_format(path)
    if path.stat().st_size == 0:
        raise InputError(f"Input {path.name} is empty (0 bytes): expected a header row with a text column.")
    encoding = None
    jsonl_columns: list[str] = []
    if fmt == "xlsx":
        if not zipfile.is_zipfile(path):
            raise InputError(
                f"Cannot open {path.name} as an Excel workbook (.xlsx): expected a zip-based .xlsx file, found "
                f"{_describe_start(path)}."
            )
        rows = _xlsx_rows(path)
        try:
            header = next(rows, None) or ()
        finally:
            rows.close()
        columns = [_cell(v).strip() or f"column_{i + 1}" for i, v in enumerate(header)]
    else:
        sample, encoding = _sniff(path, gzipped)
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
    title = find_column(columns, title_col, [c for c in TITLE_COLUMNS if c.lower() != text.strip().lower()], "title")
    if title == text:
        title = None
    return Table(path, fmt, gzipped, encoding, columns, text, title, jsonl_columns)


def _describe_start(path: Path) -> str:
    with open(path, "rb") as handle:
        start = handle.read(8)
    return f"a file starting with {start!r}"


def _csv_header(sample: bytes, encoding: str, sep: str) -> list[str]:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    if csv.field_size_limit() < sys.maxsize:
        csv.field_size_limit(sys.maxsize)
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


def estimate_rows(path: str | Path) -> int | None:
    """About how many data rows an uncompressed text table holds (its line count), for progress display."""
    path = Path(path)
    try:
        fmt, gzipped = table_format(path)
    except InputError:
        return None
    if gzipped or fmt == "xlsx" or not path.is_file():
        return None
    lines = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            lines += block.count(b"\n")
    return max(lines - (fmt != "jsonl"), 0)


def check_output_path(path: str | Path) -> Path:
    """Fail early, with a clear reason, when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"Output {path} is a folder: expected a file name such as routed.csv.")
    table_format(path)
    folder = path.parent
    if not folder.is_dir():
        found = "a file" if folder.exists() else "nothing"
        raise InputError(f"Output folder {folder} does not exist (found {found} there): create it first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"Output folder {folder} is not writable: expected a folder you can create files in.")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"Output file {path} exists and is read-only: expected a file you may replace.")
    return path


class TableWriter:
    """Writes DataFrame chunks to a temporary file and renames it to ``path`` on ``commit``."""

    def __init__(self, path: str | Path):
        self.path = check_output_path(path)
        self.format, self.gzipped = table_format(self.path)
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        self._temp = Path(temp)
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the output gets the usual permissions
        except OSError:
            pass
        finally:
            os.close(fd)
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
            self._sheet.append([_excel_value(self._sheet, v) for v in row])
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
        try:
            if self._handle is not None:
                self._handle.close()
        except OSError:
            pass
        finally:
            self._handle = None
            self._drop_workbook()
            self._temp.unlink(missing_ok=True)

    def _drop_workbook(self) -> None:
        """Close openpyxl's write-only sheet, which streams into a temporary file of its own, and remove that."""
        sheet = getattr(self, "_sheet", None)
        self._workbook = self._sheet = None
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            return
        try:
            if getattr(sheet, "_rows", None) is not None:
                sheet._rows.close()
            writer.close()
            writer.cleanup()
        except (OSError, ValueError, StopIteration):
            pass

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _excel_value(sheet, value):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
    if len(value) > EXCEL_MAX_CELL_CHARS:  # Excel's cell limit: keep the head, say that it was cut
        value = value[: EXCEL_MAX_CELL_CHARS - len(EXCEL_CUT)] + EXCEL_CUT
    if value.startswith("="):  # a text, not a formula: stored as a string cell
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def read_table(path: str | Path, **columns) -> tuple[pd.DataFrame, Table]:
    """The whole table in memory (for training and evaluation data), with its resolved columns."""
    table = open_table(path, **columns)
    chunks = []
    for chunk in table.chunks():
        if table.format != "jsonl" and ERROR_COLUMN in chunk:  # training data must be clean
            reason = next(e for e in chunk[ERROR_COLUMN] if e)
            raise InputError(f"Malformed {table.format.upper()} in {table.path.name}: {reason}.")
        chunks.append(chunk)
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=table.columns, dtype=str)
    return frame, table
