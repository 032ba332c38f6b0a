"""Datasets: a folder of table files (Parquet, CSV …, as a data lake keeps them) or a glob, read as one table.

Every file is a partition, read in name order with its own reader; all must have the same columns (a file that
differs is an error naming it). A file with no rows (0 bytes, or a Parquet file of 0 rows) is skipped with a
note; hidden files and those starting with ``_`` (``_SUCCESS``, ``_metadata``) are not part of the data.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

from classifier.errors import InputError, MissingFileError
from classifier.i18n import tr
from classifier.io.chunk import Chunk
from classifier.io.columns import show
from classifier.io.formats import table_format


def dataset_files(source: str | Path) -> tuple[list[Path], list[str]]:
    """The table files of a folder (searched recursively) or of a glob, in name order, and notes on the
    files left out (unknown types)."""
    if Path(source).is_dir():
        root = Path(source)
        found = [p for p in sorted(root.rglob("*")) if p.is_file()
                 and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)]  # fmt: skip
    else:
        found = [Path(p) for p in sorted(glob.glob(str(source), recursive=True)) if Path(p).is_file()]
        if not found:
            raise MissingFileError(tr(f"没有与 {source} 匹配的文件：请检查路径（通配符形如 tickets/*.parquet）。",
                                      f"No file matches {source}: expected a pattern such as tickets/*.parquet."))
    files, unknown = [], []
    for path in found:
        try:
            table_format(path)
            files.append(path)
        except InputError:
            unknown.append(path.name)
    notes = []
    if unknown:
        names = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        notes.append(tr(f"跳过 {len(unknown)} 个非表格文件：{names}", f"{len(unknown)} files that are not tables skipped: {names}"))
    if not files:
        raise InputError(tr(f"输入文件夹 {source} 中没有表格文件：应为一个表格文件，或由 .parquet、.csv、.jsonl 等文件组成的"
                            "文件夹（或通配符）。",
                            f"Input folder {source} holds no table files: expected a table file, or a folder (or glob) "
                            "of .parquet, .csv, .jsonl … files."))  # fmt: skip
    return files, notes


def is_empty(path: Path) -> bool:
    """A partition without rows: a 0-byte file, or a Parquet file of 0 rows."""
    if path.stat().st_size == 0:
        return True
    if path.suffix.lower() == ".parquet":
        from classifier.io.parquet import ParquetReader

        return ParquetReader(path).rows == 0
    return False


def check_same_columns(first, part) -> None:
    """``part`` (an opened ``Table``) has the columns of ``first``; else an error naming both files."""
    if set(part.columns) != set(first.columns):
        missing = [c for c in first.columns if c not in part.columns]
        extra = [c for c in part.columns if c not in first.columns]
        raise InputError(tr(f"分片 {part.path} 的列与 {first.path.name} 不同（缺少 {show(missing)}，多出 {show(extra)}）："
                            "数据集中每个文件的列应相同。",
                            f"Partition {part.path} has other columns than {first.path.name} (missing {show(missing)}, "
                            f"extra {show(extra)}): expected the same columns in every file of a dataset."))  # fmt: skip


class DatasetReader:
    """Reads the partitions (opened ``Table``s) one after the other, columns in the first one's order."""

    def __init__(self, parts: list):
        self.parts = parts
        self.warnings: list[str] = []

    def chunks(self, columns: list[str], size: int) -> Iterator[Chunk]:
        for part in self.parts:
            for chunk in part.chunks(size):
                frame = chunk.frame if list(chunk.frame.columns) == columns else chunk.frame[columns]
                yield Chunk(frame, chunk.errors)
            self.warnings.extend(f"{part.path.name}: {w}" for w in part.warnings)

    def estimate_rows(self) -> int | None:
        counts = [part.estimate_rows() for part in self.parts]
        return None if None in counts else sum(counts)
