"""Excel workbooks: ``.xlsx`` with openpyxl (read-only, streaming), ``.xls`` (Excel 97–2003) with xlrd.

A workbook is opened again for every pass over a sheet; cells come back as text (``cell_text``), dates as
``2024-05-01 09:30:00``. A file named ``.xls`` that is really an ``.xlsx`` (zip) is read as one.
"""

from __future__ import annotations

import itertools
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io.chunk import Chunk, cell_text
from classifier.io.columns import HEAD_ROWS, clip

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The start of an Excel 97–2003 (``.xls``, OLE2 compound document) file."""


def workbook_kind(path: Path, fmt: str) -> str:
    """``xlsx``, ``xls`` or, for a ``.xls`` name on plain text (what many web systems export), ``tsv``; from the
    file's first bytes. ``InputError`` when it is none of them."""
    with open(path, "rb") as handle:
        start = handle.read(4096)
    if zipfile.is_zipfile(path):
        return "xlsx"
    if fmt == "xls":
        if start.startswith(OLE_MAGIC[:4]):
            return "xls"
        if b"\t" in start and b"\x00" not in start and not start.lstrip().startswith(b"<"):
            return "tsv"
    if fmt == "xlsx":
        expected = tr("基于 zip 的 .xlsx 文件", "a zip-based .xlsx file")
    else:
        expected = tr("旧版 Excel 97-2003 .xls 文件", "an Excel 97-2003 .xls file")
    if start.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<"):
        found = tr("网页（HTML），请用 Excel 打开后另存为 .xlsx", "a web page (HTML); open it in Excel and save it as .xlsx")
    else:
        found = tr(f"以 {start[:8]!r} 开头的文件", f"a file starting with {start[:8]!r}")
    raise InputError(tr(f"无法把 {path.name} 作为 Excel 工作簿（.{fmt}）打开：应为{expected}，实际是{found}。",
                        f"Cannot open {path.name} as an Excel workbook (.{fmt}): expected {expected}, found {found}."))


class WorkbookReader:
    """Reads the sheets of one workbook (``kind`` ``xlsx`` or ``xls``)."""

    def __init__(self, path: Path, kind: str):
        self.path, self.kind = path, kind
        self.warnings: list[str] = []
        with self._open() as book:
            self.sheet_names = book.sheet_names

    def _open(self) -> _Book:
        return _XlsxBook(self.path) if self.kind == "xlsx" else _XlsBook(self.path)

    def head(self, sheet: int, rows: int = HEAD_ROWS) -> list[list[str]]:
        """The first ``rows`` rows of sheet number ``sheet`` (0-based), cells as text."""
        with self._open() as book:
            return [[cell_text(v) for v in values] for values in itertools.islice(book.rows(sheet), rows)]

    def size(self, sheet: int) -> int | None:
        """The sheet's row count as the file records it (None when unknown)."""
        with self._open() as book:
            return book.size(sheet)

    def chunks(self, sheet: int, columns: list[str], skip: int, size: int) -> Iterator[Chunk]:
        """Chunks of ``size`` rows after the first ``skip`` rows; empty rows are kept only when a non-empty row
        follows (a sheet often reports formatted empty rows at its end); cells right of the header are ignored."""
        width = len(columns)
        batch: list[list[str]] = []
        blank: list[list[str]] = []
        with self._open() as book:
            for values in itertools.islice(book.rows(sheet), skip, None):
                cells = [cell_text(v) for v in values[:width]]
                cells += [""] * (width - len(cells))
                if not any(cells) and not any(cell_text(v) for v in values[width:]):
                    blank.append(cells)
                    continue
                for row in [*blank, cells]:
                    batch.append(row)
                    if len(batch) == size:
                        yield Chunk(pd.DataFrame(batch, columns=columns, dtype=str), [""] * len(batch))
                        batch = []
                blank = []
        if batch:
            yield Chunk(pd.DataFrame(batch, columns=columns, dtype=str), [""] * len(batch))


class _Book:
    sheet_names: list[str]

    def rows(self, sheet: int) -> Iterator[tuple]:
        raise NotImplementedError

    def size(self, sheet: int) -> int | None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return clip(text, 200) if text else type(error).__name__


class _XlsxBook(_Book):
    def __init__(self, path: Path):
        from xml.etree.ElementTree import ParseError

        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        self.path = path
        self._errors = (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError, zlib.error, ParseError)
        self._handle = open(path, "rb")  # a handle, not the name: openpyxl refuses a name ending in .xls
        try:
            self._book = load_workbook(self._handle, read_only=True, data_only=True)
            self.sheet_names = list(self._book.sheetnames)
            self._book.worksheets[0]
        except (*self._errors, IndexError, InvalidFileException) as error:
            self._handle.close()
            raise InputError(tr(f"无法把 {path.name} 作为 Excel 工作簿（.xlsx）打开：{_one_line(error)}",
                                f"Cannot open {path.name} as an Excel workbook (.xlsx): {_one_line(error)}")) from None

    def rows(self, sheet: int) -> Iterator[tuple]:
        try:
            yield from self._book.worksheets[sheet].iter_rows(values_only=True)
        except self._errors as error:
            raise InputError(tr(f"Excel 工作簿 {self.path.name} 已损坏：{_one_line(error)}",
                                f"Corrupt Excel workbook {self.path.name}: {_one_line(error)}")) from None

    def size(self, sheet: int) -> int | None:
        return self._book.worksheets[sheet].max_row

    def close(self) -> None:
        try:
            self._book.close()
        finally:
            self._handle.close()


def _xlrd_errors() -> tuple[type[BaseException], ...]:
    """What xlrd raises on a damaged file."""
    import struct

    import xlrd
    from xlrd.compdoc import CompDocError

    return (xlrd.XLRDError, CompDocError, struct.error, AssertionError, IndexError, KeyError, ValueError, OSError,
            EOFError, UnicodeDecodeError)  # fmt: skip


class _XlsBook(_Book):
    def __init__(self, path: Path):
        import xlrd

        self.path = path
        try:
            self._book = xlrd.open_workbook(path, on_demand=True)
            self.sheet_names = list(self._book.sheet_names())
        except _xlrd_errors() as error:
            raise InputError(tr(f"无法把 {path.name} 作为 Excel 工作簿（.xls）打开：{_one_line(error)}",
                                f"Cannot open {path.name} as an Excel workbook (.xls): {_one_line(error)}")) from None

    def rows(self, sheet: int) -> Iterator[tuple]:
        import xlrd

        try:
            data = self._book.sheet_by_index(sheet)
        except _xlrd_errors() as error:
            raise InputError(tr(f"Excel 工作簿 {self.path.name} 已损坏：{_one_line(error)}",
                                f"Corrupt Excel workbook {self.path.name}: {_one_line(error)}")) from None
        for row in range(data.nrows):
            yield tuple(self._value(cell, xlrd) for cell in data.row(row))

    def _value(self, cell, xlrd):
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                return xlrd.xldate_as_datetime(cell.value, self._book.datemode)
            except (xlrd.xldate.XLDateError, ValueError, OverflowError):
                return cell.value
        if cell.ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(cell.value)
        if cell.ctype == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(cell.value, "#ERROR")
        return cell.value

    def size(self, sheet: int) -> int | None:
        return self._book.sheet_by_index(sheet).nrows

    def close(self) -> None:
        self._book.release_resources()
