"""Writing output tables: to a temporary file (or folder) beside the target, renamed at the end.

An interrupted run never leaves a partial file under the output name. An output name without an extension is a
Parquet dataset: a folder with one ``part-NNNNN.parquet`` file per chunk written, string columns. CSV is written as UTF-8 with BOM (Excel
opens it correctly), JSONL as UTF-8; an ``.xlsx`` cell longer than Excel allows is cut, with a marker saying so.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io.formats import is_dataset_output, table_format
from classifier.io.parquet import ParquetFileWriter, write_parquet

EXCEL_MAX_ROWS = 1_048_575
EXCEL_MAX_CELL_CHARS = 32_767
EXCEL_CUT = "…[cut: longer than an Excel cell allows; write .csv to keep it whole]"
PART_NAME = re.compile(r"part-\d+\.parquet")
"""The files of a dataset this package writes (an existing output folder holding only these is replaced)."""


def part_name(number: int) -> str:
    return f"part-{number:05d}.parquet"


def check_output_path(path: str | Path) -> Path:
    """Fail early, with a clear reason, when ``path`` cannot be written."""
    if is_dataset_output(path):
        return _check_dataset_output(Path(path))
    path = Path(path)
    if path.is_dir():
        raise InputError(tr(f"输出 {path} 是一个文件夹：应为 routed.csv 这样的文件名。",
                            f"Output {path} is a folder: expected a file name such as routed.csv."))
    table_format(path, writing=True)
    folder = path.parent
    check_output_folder(folder)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(tr(f"输出文件 {path} 已存在且为只读：应为可以覆盖的文件。",
                            f"Output file {path} exists and is read-only: expected a file you may replace."))
    return path


def _check_dataset_output(path: Path) -> Path:
    folder = path.parent
    if path.exists() and not path.is_dir():
        raise InputError(tr(f"输出 {path} 是一个文件：Parquet 数据集应为文件夹名（或用带扩展名的文件名，如 routed.csv）。",
                            f"Output {path} is a file: expected a folder name for a Parquet dataset (or a file name "
                            "with an extension such as routed.csv)."))  # fmt: skip
    if path.is_dir():
        others = [p.name for p in path.iterdir() if not PART_NAME.fullmatch(p.name)]
        if others:
            listed = ", ".join(sorted(others)[:3])
            raise InputError(tr(f"输出文件夹 {path} 中有其他文件（{listed}）：应为新的或空的文件夹，"
                                "或 complaint-router 写出的数据集（会被替换）。",
                                f"Output folder {path} holds other files ({listed}): expected a "
                                "new or empty folder, or a dataset written by complaint-router (it is replaced)."))  # fmt: skip
    check_output_folder(folder)
    return path


def check_output_folder(folder: Path) -> None:
    """The folder an output goes into exists and is writable."""
    if not folder.is_dir():
        found = "a file" if folder.exists() else "nothing"
        raise InputError(tr(f"输出文件夹 {folder} 不存在{'（该路径是一个文件）' if folder.exists() else ''}：请先创建该文件夹。",
                            f"Output folder {folder} does not exist (found {found} there): create it first."))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(tr(f"输出文件夹 {folder} 不可写：应为可以在其中创建文件的文件夹。",
                            f"Output folder {folder} is not writable: expected a folder you can create files in."))


def temporary_folder(path: Path) -> Path:
    """A new hidden folder beside ``path`` with the usual permissions, to be moved there by ``commit_folder``."""
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        os.chmod(temp, 0o777 & ~umask())  # mkdtemp makes 0700
    except OSError:
        pass
    return temp


def temporary_file(path: Path) -> Path:
    """A new hidden empty file beside ``path`` with the usual permissions, to be renamed to ``path`` when done."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp makes 0600; the output gets the usual permissions
    except OSError:
        pass
    finally:
        os.close(fd)
    return Path(temp)


def write_text_file(path: Path, text: str) -> Path:
    """``text`` written to ``path`` in UTF-8 atomically (a ``temporary_file`` renamed over it)."""
    temp = temporary_file(path)
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def commit_folder(temp: Path, path: Path) -> Path:
    """Move the finished folder ``temp`` to ``path``, replacing the folder there (it is removed after the swap)."""
    old = None
    if path.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.replace(path, old / path.name)
    os.replace(temp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path


@contextmanager
def replacing_folder(path: Path) -> Iterator[Path]:
    """A folder to fill that replaces ``path`` when the block ends without an error, and is removed otherwise:
    nobody ever sees a half-written folder under ``path``."""
    temp = temporary_folder(path)
    try:
        yield temp
        commit_folder(temp, path)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


class TableWriter:
    """Writes DataFrame chunks to a temporary file (a folder for a dataset) renamed to ``path`` on ``commit``."""

    def __init__(self, path: str | Path):
        self.path = check_output_path(path)
        if is_dataset_output(path):
            self.format, self.gzipped = "dataset", False
            self._temp = temporary_folder(self.path)
        else:
            self.format, self.gzipped = table_format(self.path, writing=True)
            self._temp = temporary_file(self.path)
        self._rows = 0
        self._parts = 0
        self._parquet: ParquetFileWriter | None = None
        self._header_written = False
        self._handle = None
        self._workbook = None

    def write(self, chunk: pd.DataFrame) -> None:
        if self.format == "xlsx":
            self._write_xlsx(chunk)
            return
        if self.format == "dataset":
            write_parquet(chunk, self._temp / part_name(self._parts))
            self._parts += 1
            self._rows += len(chunk)
            return
        if self.format == "parquet":
            self._parquet = self._parquet or ParquetFileWriter(self._temp, chunk.columns)
            self._parquet.write(chunk)
            self._rows += len(chunk)
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
            raise InputError(tr(f".xlsx 输出的行数超过上限（{EXCEL_MAX_ROWS} 行）：请改为输出 .csv。",
                                f"Too many rows for an .xlsx output (limit {EXCEL_MAX_ROWS}): write .csv instead."))
        for row in chunk.itertuples(index=False, name=None):
            self._sheet.append([_excel_value(self._sheet, v) for v in row])
        self._rows += len(chunk)

    def commit(self) -> Path:
        """Finish the file and move it to its final name."""
        if self.format == "dataset":
            return commit_folder(self._temp, self.path)
        if self._parquet is not None:
            self._parquet.close()
        if self._workbook is not None:
            self._workbook.save(self._temp)
        elif self._handle is not None:
            self._handle.close()
        os.replace(self._temp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the output name is left untouched."""
        if self.format == "dataset":
            shutil.rmtree(self._temp, ignore_errors=True)
            return
        try:
            if self._parquet is not None:
                self._parquet.close()
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


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
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
