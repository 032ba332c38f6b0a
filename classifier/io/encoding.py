"""The encoding of text tables, and decoding them line by line when a few lines are in another one.

A file's encoding is decided on its first MiB (or the first later MiB that is not plain ASCII): UTF-8 (with or
without BOM) when most of its non-ASCII lines are UTF-8, else GB18030 (a superset of GBK and GB2312), or Big5
when charset-normalizer says so (GB18030 would decode Big5 bytes into nonsense without an error). Reading then
decodes the file in bulk; when a line does not decode, ``LineDecoder`` decodes that line with the other family
(a GBK line pasted into a UTF-8 export) and marks a line that neither decodes as undecodable, so that one flaw
does not make the whole file unusable. Stray NUL bytes are removed; a sample with many of them is binary.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io.formats import open_binary

SAMPLE_BYTES = 1 << 20
MAX_LOOKAHEAD_SAMPLES = 64
"""An ASCII-only start is followed for at most this many more samples (64 MiB) to find the encoding."""
MAX_BAD_SHARE = 0.5
"""A sample whose non-ASCII lines are mostly undecodable (more than this share) is not a text table in a known
encoding; fewer such lines become error rows."""
BIG5_NAMES = ("big5", "big5hkscs", "cp950")
_GUESS_BYTES = 1 << 16
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


@dataclass
class Sniffed:
    """The first MiB of a text file and its encoding."""

    sample: bytes
    encoding: str
    complete: bool
    """The sample is the whole file."""


def sniff(path: Path, gzipped: bool) -> Sniffed:
    """The start of a text table and its encoding; ``InputError`` for binary, UTF-16 or undecodable data."""
    try:
        with open_binary(path, gzipped) as handle:
            head = later = handle.read(SAMPLE_BYTES)
            complete = len(head) < SAMPLE_BYTES
            for _ in range(MAX_LOOKAHEAD_SAMPLES):
                if not later.isascii() or len(later) < SAMPLE_BYTES:
                    break
                later = handle.read(SAMPLE_BYTES)
            later_complete = len(later) < SAMPLE_BYTES
    except (OSError, EOFError, zlib.error) as error:
        kind = "a gzip-compressed file" if gzipped else "a file"
        raise InputError(tr(f"无法读取{' gzip 压缩' if gzipped else ''}文件 {path.name}：{error}",
                            f"Cannot read {path.name} as {kind}: {error}")) from None
    if not head.strip():
        raise InputError(tr(f"输入文件 {path.name} 没有数据：应有一行表头，其中包含正文列。",
                            f"Input {path.name} holds no data: expected a header row with a text column."))
    try:
        encoding = detect_encoding(head, complete=complete)
        if head.isascii() and not later.isascii():
            encoding = detect_encoding(later, complete=later_complete)
    except InputError as error:
        raise InputError(f"{path.name}: {error}") from None
    return Sniffed(head, encoding, complete)


def detect_encoding(sample: bytes, *, complete: bool = False) -> str:
    """The encoding of a text sample: utf-8-sig, utf-8, gb18030 or big5hkscs.

    ``complete``: the sample is a whole file (else its last line may be cut). Raises ``InputError`` for UTF-16,
    binary data and samples that mostly decode in none of them.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(tr(
            "文件是 UTF-16 编码：应为 UTF-8、带 BOM 的 UTF-8、GBK 或 GB18030；请另存为 UTF-8。",
            "The file is UTF-16 encoded: expected UTF-8, UTF-8 with BOM, GBK or GB18030; save it as UTF-8.",
        ))
    if b"\x00" in sample:
        if _looks_utf16(sample):
            raise InputError(tr(
                "文件似乎是 UTF-16 编码（无 BOM）：应为 UTF-8、带 BOM 的 UTF-8、GBK 或 GB18030；请另存为 UTF-8。",
                "The file looks UTF-16 encoded (no BOM): expected UTF-8, UTF-8 with BOM, GBK or GB18030; "
                "save it as UTF-8.",
            ))
        if looks_binary(sample):
            raise InputError(tr(
                "文件似乎是二进制文件（含 NUL 字节）：应为文本表格（CSV、TSV 或 JSONL）。",
                "The file looks binary (it contains NUL bytes): expected a text table (CSV, TSV or JSONL).",
            ))
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    lines = sample.splitlines(keepends=True)  # bytes: at \n, \r\n and \r only
    if not complete and len(lines) > 1:
        lines.pop()  # may be cut in the middle of a character
    utf8, other, bad, offset, first_bad = 0, [], 0, 0, None
    for line in lines:
        if not line.isascii():
            if _decodes(line, "utf-8"):
                utf8 += 1
            elif _decodes(line, "gb18030"):
                other.append(line)
            else:
                bad += 1
                if first_bad is None:
                    first_bad = offset + _bad_offset(line)
        offset += len(line)
    if bad > MAX_BAD_SHARE * (utf8 + len(other) + bad):
        raise InputError(tr(
            "无法解码文件：应为 UTF-8、带 BOM 的 UTF-8、GBK 或 GB18030 文本；"
            f"偏移 {first_bad} 处的字节 0x{sample[first_bad]:02x} 在这些编码中都不合法，请另存为 UTF-8。",
            "Cannot decode the file: expected UTF-8, UTF-8 with BOM, GBK or GB18030 text; "
            f"found byte 0x{sample[first_bad]:02x} at offset {first_bad} that none of them allows there.",
        ))
    if utf8 >= len(other):
        return "utf-8"
    return "big5hkscs" if _guess_big5(other) else "gb18030"


def looks_binary(sample: bytes) -> bool:
    """More than a few NUL bytes (a stray NUL in a cell is not binary data)."""
    nuls = sample.count(0)
    return nuls > 8 and nuls * 1000 > len(sample)


def _looks_utf16(sample: bytes) -> bool:
    """NUL bytes on every other position: UTF-16 text of mostly ASCII or CJK without a BOM."""
    head = sample[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return max(even, odd) >= len(head) // 4 and min(even, odd) <= max(even, odd) // 20


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _bad_offset(line: bytes) -> int:
    try:
        line.decode("gb18030")
    except UnicodeDecodeError as error:
        return error.start
    return 0


def _guess_big5(lines: list[bytes]) -> bool:
    """True when charset-normalizer takes the non-UTF-8 lines for Big5 (it tells Big5 from GBK; we cannot)."""
    from charset_normalizer import from_bytes

    data, size = [], 0
    for line in lines:
        if size > _GUESS_BYTES:
            break
        data.append(line)
        size += len(line) + 1
    best = from_bytes(b"\n".join(data)).best()
    return best is not None and best.encoding in BIG5_NAMES


@dataclass
class LineDecoder:
    """Decodes lines of bytes in the file's encoding, one line at a time when the bulk decoding failed.

    A line that does not decode is decoded in the other family (GB18030 for a UTF-8 file, UTF-8 otherwise); a
    line that decodes in neither is decoded with replacement characters and counted in ``undecodable``. NUL
    characters are removed (``remove_nul``). ``warnings()`` says what was done, for the user.
    """

    encoding: str
    fallback_lines: list[int] = field(default_factory=list)
    undecodable: list[int] = field(default_factory=list)
    nul_lines: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.codec = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        self.fallback = "gb18030" if self.codec == "utf-8" else "utf-8"

    def decode(self, raw: bytes, number: int) -> tuple[str, bool]:
        """(text, decoded) of line ``number``; ``decoded`` is False when no encoding fits."""
        try:
            text = raw.decode(self.codec)
        except UnicodeDecodeError:
            try:
                text = raw.decode(self.fallback)
                self.fallback_lines.append(number)
            except UnicodeDecodeError:
                self.undecodable.append(number)
                return self.remove_nul(raw.decode(self.codec, errors="replace"), number), False
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        return self.remove_nul(text, number), True

    def remove_nul(self, text: str, number: int) -> str:
        if "\x00" in text:
            self.nul_lines.append(number)
            return text.replace("\x00", "")
        return text

    def lines(self, handle, *, split_cr: bool) -> Iterator[tuple[str, bool]]:
        """(text, decoded) for every line of a binary ``handle``; lines end at ``\\n`` (and at a lone ``\\r``
        when ``split_cr``, as Python's universal newlines do)."""
        number = 0
        for raw in handle:
            if split_cr and raw.find(b"\r", 0, len(raw) - 2) != -1:
                parts = [part for part in _LONE_CR.split(raw) if part]
            else:
                parts = [raw]
            for part in parts:
                number += 1
                yield self.decode(part, number)

    def warnings(self) -> list[str]:
        notes = []
        if self.fallback_lines:
            lines = _lines(self.fallback_lines)
            notes.append(tr(f"{lines}不是 {self.codec.upper()} 编码，已按 {self.fallback.upper()} 读取",
                            f"{lines} not {self.codec.upper()}: read as {self.fallback.upper()}"))  # fmt: skip
        if self.undecodable:
            lines = _lines(self.undecodable)
            notes.append(tr(f"{lines}无法解码，保留为错误行", f"{lines} cannot be decoded: kept as error rows"))
        if self.nul_lines:
            lines = _lines(self.nul_lines)
            notes.append(tr(f"{lines}含 NUL 字节，已删除", f"{lines} held NUL bytes: removed"))
        return notes


def undecodable(line: int, encoding: str) -> str:
    """The reason kept with a row whose line ``line`` decodes in neither encoding tried for the file."""
    decoder = LineDecoder(encoding)
    return f"undecodable line {line} (neither {decoder.codec.upper()} nor {decoder.fallback.upper()})"


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:5])) + (" …" if len(numbers) > 5 else "")
    return tr(f"{len(numbers)} 行（第 {shown} 行）", f"{len(numbers)} line(s) ({shown})")
