"""Parquet tables: read in row batches (memory stays flat), every column as text; written with string columns.

A Parquet file is typed, so it has no unreadable rows; a file that is not Parquet, or is damaged, is an
``InputError`` naming it. Numbers, dates and booleans become their text, lists and structs JSON, nulls ``""``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io.chunk import Chunk, cell_text


def _arrow():
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    return pa, pc, pq


class ParquetReader:
    """Reads one Parquet file with ``pyarrow.parquet.ParquetFile.iter_batches``."""

    def __init__(self, path: Path):
        pa, _, pq = _arrow()
        self.path = path
        self.warnings: list[str] = []
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise InputError(tr(f"无法读取 Parquet 文件 {path.name}：{_reason(error)}；应为 pandas、pyarrow、Spark、DuckDB 等"
                                "写出的 Parquet 文件。",
                                f"Cannot read Parquet file {path.name}: {_reason(error)}; expected a Parquet file "
                                "written by pandas, pyarrow, Spark, DuckDB …")) from None  # fmt: skip
        self.columns = [str(name) for name in self._file.schema_arrow.names]

    @property
    def rows(self) -> int:
        return self._file.metadata.num_rows

    def chunks(self, columns: list[str], size: int) -> Iterator[Chunk]:
        """``size`` rows at a time; ``columns`` are the file's columns (made unique), in its order."""
        pa, _, _ = _arrow()
        try:
            for batch in self._file.iter_batches(batch_size=size):
                frame = pd.DataFrame({name: _text(batch.column(i)) for i, name in enumerate(columns)}, dtype=str)
                yield Chunk(frame, [""] * len(frame))
        except (pa.ArrowException, OSError) as error:
            raise InputError(tr(f"无法读取 Parquet 文件 {self.path.name}：{_reason(error)}；文件已损坏（未写出输出文件）。",
                                f"Cannot read Parquet file {self.path.name}: {_reason(error)}; the file is damaged "
                                "(no output was written).")) from None  # fmt: skip

    def estimate_rows(self) -> int:
        return self.rows


def _text(column) -> list[str]:
    """A column's values as text (nulls as ``""``)."""
    pa, pc, _ = _arrow()
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.fill_null(column, "").to_pylist()
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_boolean(kind) or pa.types.is_dictionary(kind):
        return [cell_text(value) for value in column.to_pylist()]
    try:
        return pc.fill_null(pc.cast(column, pa.string()), "").to_pylist()
    except pa.ArrowException:
        return [cell_text(value) for value in column.to_pylist()]


def _reason(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as one Parquet file of string columns (nulls as ``""``)."""
    pa, _, pq = _arrow()
    table = pa.Table.from_pandas(as_text(frame), schema=text_schema(frame.columns), preserve_index=False)
    pq.write_table(table, path)


class ParquetFileWriter:
    """One Parquet file written chunk by chunk (one row group each), string columns."""

    def __init__(self, path: Path, columns):
        _, _, pq = _arrow()
        self.schema = text_schema(columns)
        self._writer = pq.ParquetWriter(path, self.schema)

    def write(self, frame: pd.DataFrame) -> None:
        pa, _, _ = _arrow()
        self._writer.write_table(pa.Table.from_pandas(as_text(frame), schema=self.schema, preserve_index=False))

    def close(self) -> None:
        self._writer.close()


def text_schema(columns):
    pa, _, _ = _arrow()
    return pa.schema([(str(c), pa.string()) for c in columns])


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text a CSV output holds (``""`` for nothing)."""
    return pd.DataFrame({c: [_out_text(v) for v in frame[c].tolist()] for c in frame.columns}, columns=frame.columns)


def _out_text(value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
