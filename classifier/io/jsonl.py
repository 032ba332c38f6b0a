"""JSONL tables: one JSON object per line, the columns being the union of their keys (in order of appearance).

Lines end at ``\\n`` only (a JSON string cannot hold a raw line break, and a stray ``\\r`` must not split a
record in two); line numbers are those a text editor shows; blank lines are skipped. A line that is not a JSON
object, or that cannot be decoded, is an error row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io.chunk import Chunk, cell_text
from classifier.io.encoding import LineDecoder, Sniffed, undecodable
from classifier.io.formats import count_lines, gzip_size, open_binary

_MALFORMED = object()
_UNDECODABLE = object()


class JsonlReader:
    """Reads one JSONL file whose start and encoding ``sniffed`` holds."""

    def __init__(self, path: Path, gzipped: bool, sniffed: Sniffed):
        self.path, self.gzipped, self.sniffed = path, gzipped, sniffed
        self.warnings: list[str] = []

    def keys(self) -> list[str]:
        """The union of the objects' keys; ``InputError`` when no line holds an object."""
        keys: dict[str, None] = {}
        for _, record in self._records():
            if isinstance(record, dict):
                keys.update(dict.fromkeys(map(str, record)))
        if not keys:
            raise InputError(tr(f"{self.path.name} 中没有 JSON 对象：应每行一个 JSON 对象。",
                                f"No JSON object found in {self.path.name}: expected one JSON object per line."))
        return list(keys)

    def chunks(self, columns: list[str], size: int) -> Iterator[Chunk]:
        rows: list[list[str]] = []
        errors: list[str] = []
        for number, record in self._records():
            if isinstance(record, dict):
                rows.append([cell_text(record.get(c)) for c in columns])
                errors.append("")
            else:
                rows.append([""] * len(columns))
                errors.append(_reason(number, record, self.sniffed.encoding))
            if len(rows) == size:
                yield Chunk(pd.DataFrame(rows, columns=columns, dtype=str), errors)
                rows, errors = [], []
        if rows:
            yield Chunk(pd.DataFrame(rows, columns=columns, dtype=str), errors)

    def _records(self) -> Iterator[tuple[int, object]]:
        """(line number, parsed value, ``_MALFORMED`` or ``_UNDECODABLE``) of every non-blank line."""
        decoder = LineDecoder(self.sniffed.encoding)
        with open_binary(self.path, self.gzipped) as handle:
            for number, raw in enumerate(handle, start=1):
                text, decoded = decoder.decode(raw, number)
                if not text.strip():
                    continue
                if not decoded:
                    yield number, _UNDECODABLE
                    continue
                try:
                    yield number, json.loads(text)
                except (json.JSONDecodeError, RecursionError):
                    yield number, _MALFORMED
        self.warnings = decoder.warnings()

    def estimate_rows(self) -> int | None:
        """About how many non-blank lines the file holds (for a progress display), or None when unknown."""
        sample = self.sniffed.sample
        if not self.sniffed.complete:
            sample = sample[: sample.rfind(b"\n") + 1]
        records = sum(1 for line in sample.split(b"\n") if line.strip())
        if self.sniffed.complete:
            return records
        if self.gzipped:
            total = gzip_size(self.path)
            return None if total is None or not sample else round(total * records / len(sample))
        lines = sample.count(b"\n")
        return round(count_lines(self.path) * records / lines) if lines else None


def _reason(number: int, record: object, encoding: str) -> str:
    if record is _MALFORMED:
        return f"line {number} is not valid JSON"
    if record is _UNDECODABLE:
        return undecodable(number, encoding)
    return f"line {number} is a JSON {type(record).__name__.replace('NoneType', 'null')}, not an object"
