"""The table formats: which file names are read and written as what; opening (gzipped) files and sizing them."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

from classifier.errors import InputError
from classifier.i18n import tr

FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "xlsx", ".xls": "xls", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet",
}  # fmt: skip
"""File extension -> format."""
TEXT_FORMATS = ("csv", "tsv", "jsonl")
"""Formats that may be gzip-compressed (``.csv.gz`` …)."""
WRITABLE = ("csv", "tsv", "xlsx", "jsonl", "parquet")
"""Formats an output may have (``.xls`` is read only)."""
GLOB_CHARACTERS = frozenset("*?[")
DELIMITERS = {"csv": ",", "tsv": "\t"}


def table_format(path: str | Path, *, writing: bool = False) -> tuple[str, bool]:
    """(format, gzipped) from a file name such as ``day.csv`` or ``day.jsonl.gz``; ``writing`` for an output."""
    name = Path(path).name.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    fmt = FORMATS.get(Path(name).suffix)
    if fmt is None or (gzipped and fmt not in TEXT_FORMATS) or (writing and fmt not in WRITABLE):
        allowed = [s for s, f in FORMATS.items() if not writing or f in WRITABLE]
        raise InputError(tr(f"不支持的文件类型“{Path(path).name}”：应为 {'、'.join(sorted(allowed))} 之一（文本格式也可为 .gz）。",
                            f"Unsupported file type {Path(path).name!r}: expected one of {', '.join(sorted(allowed))} "
                            "(text formats also as .gz)."))
    return fmt, gzipped


def is_dataset_output(path: str | Path) -> bool:
    """An output written as a Parquet dataset (a folder of files): a name without an extension, or ending in ``/``."""
    text = str(path)
    return text.endswith(("/", os.sep)) or not Path(text).suffix


def is_glob(path: str | Path) -> bool:
    """A pattern such as ``tickets/*.parquet`` that names several files."""
    return bool(GLOB_CHARACTERS & set(str(path)))


def open_binary(path: Path, gzipped: bool):
    """``path`` opened for reading bytes, decompressed when ``gzipped``."""
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def count_lines(path: Path) -> int:
    """Lines of an uncompressed file (a last line without a line break counts)."""
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def gzip_size(path: Path) -> int | None:
    """The uncompressed size a gzip file records (modulo 4 GiB: None when that is clearly wrapped)."""
    size = path.stat().st_size
    if size < 18:
        return None
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        total = struct.unpack("<I", handle.read(4))[0]
    return total if total >= size else None
