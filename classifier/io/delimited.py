"""CSV and TSV tables, read with Python's csv module.

Not pandas: a record with more fields than the header must become an error row in place (pandas shifts a first
such row into the index and drops its first cell, or fails the file). The file is decoded in bulk; when a line
does not decode, reading starts again line by line (``LineDecoder``) and goes on from the record it had reached.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io.chunk import Chunk
from classifier.io.columns import HEAD_ROWS
from classifier.io.encoding import LineDecoder, Sniffed, undecodable
from classifier.io.formats import DELIMITERS, count_lines, gzip_size, open_binary


class DelimitedReader:
    """Reads one CSV/TSV file whose start and encoding ``sniffed`` holds."""

    def __init__(self, path: Path, fmt: str, gzipped: bool, sniffed: Sniffed):
        self.path, self.format, self.gzipped, self.sniffed = path, fmt, gzipped, sniffed
        self.delimiter = DELIMITERS[fmt]
        self.warnings: list[str] = []
        if csv.field_size_limit() < sys.maxsize:
            csv.field_size_limit(sys.maxsize)

    def head(self, rows: int = HEAD_ROWS) -> list[tuple[int, list[str]]]:
        """(first line, cells) of the first ``rows`` records; a blank line is a record with no cells."""
        lines, reader = self._sample_reader()
        out = []
        for record in reader:
            out.append((lines.record_start, record))
            lines.next_record()
            if len(out) == rows:
                break
        return out

    def chunks(self, columns: list[str], skip: int, size: int) -> Iterator[Chunk]:
        """Chunks of ``size`` rows after the first ``skip`` records; blank lines followed by a record are empty
        rows, a record with more fields than ``columns`` or an undecodable line is an error row."""
        width = len(columns)
        rows: list[list[str]] = []
        errors: list[str] = []
        blank = 0  # blank lines, kept as empty rows only when a record follows (not at the end of the file)
        for first_line, record, bad_line in self._records(skip):
            if not record:
                blank += 1
                continue
            for _ in range(blank):
                rows.append([""] * width)
                errors.append("")
                if len(rows) == size:
                    yield Chunk(pd.DataFrame(rows, columns=columns, dtype=str), errors)
                    rows, errors = [], []
            blank = 0
            fields = len(record)
            if bad_line:
                reason = undecodable(bad_line, self.sniffed.encoding)
            elif fields > width:
                reason = f"line {first_line} has {fields} fields, the header has {width}"
            else:
                reason = ""
            if fields < width:
                record += [""] * (width - fields)
            elif fields > width:
                record = record[:width]
            rows.append(record)
            errors.append(reason)
            if len(rows) == size:
                yield Chunk(pd.DataFrame(rows, columns=columns, dtype=str), errors)
                rows, errors = [], []
        if rows:
            yield Chunk(pd.DataFrame(rows, columns=columns, dtype=str), errors)

    def _records(self, skip: int) -> Iterator[tuple[int, list[str], int]]:
        """(first line, cells, first undecodable line or 0) of every record after the first ``skip``."""
        done = 0
        try:
            for item in self._parse(skip, careful=False):
                done += 1
                yield item
        except UnicodeDecodeError:
            for number, item in enumerate(self._parse(skip, careful=True)):
                if number >= done:
                    yield item

    def _parse(self, skip: int, *, careful: bool) -> Iterator[tuple[int, list[str], int]]:
        decoder = LineDecoder(self.sniffed.encoding)
        with open_binary(self.path, self.gzipped) as raw:
            if careful:
                lines: _Lines = _CarefulLines(decoder.lines(raw, split_cr=True), decoder)
            else:
                lines = _Lines(io.TextIOWrapper(raw, encoding=self.sniffed.encoding, newline=""), decoder)
            reader = csv.reader(lines, delimiter=self.delimiter, strict=False)
            for _ in range(skip):
                if next(reader, None) is None:
                    return
                lines.next_record()
            for record in reader:
                item = lines.record_start, record, lines.bad_line
                lines.next_record()
                yield item
            if lines.unterminated_quote(self.delimiter):
                raise InputError(tr(
                    f"{self.path.name} 不是格式正确的 {self.format.upper()}：第 {lines.last_record_start} 行开始的引号"
                    "没有闭合（文件其余部分会变成一个单元格），请补上引号后重试。",
                    f"Malformed {self.format.upper()} in {self.path.name}: a quote opened on line "
                    f"{lines.last_record_start} is never closed (the rest of the file would be one cell).",
                ))
        for note in decoder.warnings():
            if note not in self.warnings:
                self.warnings.append(note)

    def _sample_reader(self):
        data = self.sniffed.sample
        if not self.sniffed.complete and b"\n" in data:
            data = data[: data.rfind(b"\n") + 1]  # the last line may be cut
        decoder = LineDecoder(self.sniffed.encoding)
        lines = _CarefulLines(decoder.lines(io.BytesIO(data), split_cr=True), decoder)
        return lines, csv.reader(lines, delimiter=self.delimiter, strict=False)

    def estimate_rows(self, skip: int) -> int | None:
        """About how many rows follow the first ``skip`` records: the file's line count (or uncompressed size)
        times the records per line (or per byte) of the first MiB, so that fields holding line breaks count once."""
        lines, reader = self._sample_reader()
        records = sum(1 for _ in reader)
        if self.sniffed.complete:
            return max(records - skip, 0)
        sample_lines = max(lines.line, 1)
        if self.gzipped:
            total = gzip_size(self.path)
            if total is None:
                return None
            sample_bytes = len(self.sniffed.sample[: self.sniffed.sample.rfind(b"\n") + 1]) or 1
            return max(round(total * records / sample_bytes) - skip, 0)
        return max(round(count_lines(self.path) * records / sample_lines) - skip, 0)


class _Lines:
    """Feeds text lines to ``csv.reader``, remembering where each record starts and whether it holds a line that
    could not be decoded; removes NUL characters."""

    def __init__(self, lines: Iterator, decoder: LineDecoder):
        self._lines = lines
        self.decoder = decoder
        self.line = 0
        self.record_start = 1
        self.last_record_start = 1
        self.bad_line = 0
        self._record: list[str] = []
        self._last: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.line += 1
        if "\x00" in line:
            line = self.decoder.remove_nul(line, self.line)
        self._record.append(line)
        return line

    def next_record(self) -> None:
        self.last_record_start = self.record_start
        self.record_start = self.line + 1
        self.bad_line = 0
        self._last = self._record
        self._record = []

    def unterminated_quote(self, delimiter: str) -> bool:
        """True when the last record ran to the end of the file inside a quoted field."""
        last = self._last
        if not last or not any('"' in line for line in last):
            return False
        try:
            list(csv.reader(last, delimiter=delimiter, strict=True))
        except csv.Error as error:
            return "unexpected end of data" in str(error)
        return False


class _CarefulLines(_Lines):
    """``_Lines`` over ``LineDecoder.lines``: (text, decoded) pairs."""

    def __next__(self) -> str:
        line, decoded = next(self._lines)
        self.line += 1
        if not decoded and not self.bad_line:
            self.bad_line = self.line
        self._record.append(line)
        return line
