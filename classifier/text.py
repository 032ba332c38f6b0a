"""Text normalisation and jieba tokenisation.

``normalize`` makes the text the models see: NFKC (full-width to half-width; the common full-width
forms are mapped by a fast path first), traditional characters converted to simplified (OpenCC ``t2s``, only for
texts that hold one), HTML remnants and control characters removed, whitespace collapsed, masked phone numbers
replaced by one ``TEL`` token, and very long texts cut to their head and tail. ``tokenize`` splits normalised text into words with jieba's dictionary plus
our domain dictionary; the fast path uses rjieba (jieba-rs), and ``jieba`` itself is the reference.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from importlib import resources

PHONE_TOKEN = "TEL"
MAX_CHARS = 3000
"""Characters kept for features: the first two thirds and the last third of a longer text."""

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_PHONE_CANDIDATE = re.compile(r"[\d*][\d*×xX-]{6,}")
_MASKED_PHONE = re.compile(r"(?:\d{3,4}-)?(?:\**\d*\*{4,}[\d*]*|0{7,}|\d{3}[×xX*]{4}\d{4}|1[3-9]\d{9})")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\ufeff]")
_HAN = re.compile(r"[\u3400-\u9fff]")
_FULL_WIDTH = re.compile(r"[\uff01-\uff5e\u3000]")
_COMMON_FULL_WIDTH = [(ch, chr(ord(ch) - 0xFEE0)) for ch in "，！？：；（）"]
_ASTRAL_HAN = "\U00020000-\U0003ffff"


def _half_width(match: re.Match) -> str:
    code = ord(match.group(0))
    return " " if code == 0x3000 else chr(code - 0xFEE0)


def _phone(match: re.Match) -> str:
    candidate = match.group(0)
    return f" {PHONE_TOKEN} " if _MASKED_PHONE.fullmatch(candidate) else candidate


TOKENIZERS = ("rjieba", "jieba")


def normalize(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return ``text`` cleaned for the models; never raises on a ``str``."""
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    for wide, narrow in _COMMON_FULL_WIDTH:
        text = text.replace(wide, narrow)
    text = _FULL_WIDTH.sub(_half_width, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
    text = to_simplified(text)
    text = " ".join(_PHONE_CANDIDATE.sub(_phone, text).split())
    if len(text) > max_chars:
        head = max_chars * 2 // 3
        text = text[:head] + " " + text[len(text) - (max_chars - head - 1) :]
    return text


_MARKUP = re.compile(r"<!--|<\s*/?\s*[a-zA-Z][^<>]{0,200}>|&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_SCRIPT_OR_STYLE = re.compile(
    r"<\s*(style|script)\b[^>]{0,200}>.*?(?:<\s*/\s*\1\s*>|$)|<!--.*?(?:-->|$)", re.IGNORECASE | re.DOTALL
)
_BLOCK = re.compile(r"(\{[^{}]*\})")
_CODE = re.compile(r"[:;=]")
_WORD = re.compile(r"[^\W\d_]{2,}")


def is_markup_junk(text: str) -> bool:
    """True when ``text`` is HTML/CSS/JavaScript remnants with nothing readable (``.cls{color:red}``,
    ``<style>…</style>``, ``<div></div>``): markup, and neither a Chinese character nor a word of two letters
    once style and script blocks, comments, tags, entities and CSS rules or code blocks (with what comes right
    before them unless it holds Chinese) are removed. Linear in the length of ``text``."""
    if "<" not in text and "{" not in text and "&" not in text:
        return False
    parts = _BLOCK.split(text)  # text, {block}, text, {block}, …, text
    blocks = parts[1::2]
    if not _MARKUP.search(text) and not any(_CODE.search(block) for block in blocks):
        return False
    kept = [part for i, part in enumerate(parts[::2]) if i == len(blocks) or has_han(part)]
    rest = _SCRIPT_OR_STYLE.sub(" ", " ".join(kept))
    rest = _ENTITY.sub(" ", _TAG.sub(" ", rest))
    return not has_han(rest) and _WORD.search(rest) is None


@lru_cache(maxsize=1)
def traditional_chars() -> frozenset[str]:
    """Characters (CJK basic and extension A, NFKC-stable) that OpenCC ``t2s`` changes on their own.

    Read from ``resources/t2s_chars.txt``, which a test checks against the installed OpenCC.
    """
    return frozenset("".join(resource_lines("t2s_chars.txt")))


@lru_cache(maxsize=1)
def _traditional_pattern() -> re.Pattern:
    # one character class of BMP characters compiles to a bitmap (about 3 µs per 350-character message);
    # characters beyond the BMP are rare, so any of them sends the text to the converter
    return re.compile(f"[{''.join(sorted(traditional_chars()))}{_ASTRAL_HAN}]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """``text`` with its traditional characters in simplified script (OpenCC ``t2s``, phrase-aware).

    Only texts holding a traditional character are converted, and only the characters that ``t2s`` changes on their
    own (or beyond the BMP) take the converted form: OpenCC's phrase table also rewrites some simplified words of
    mixed texts (破坏 → 破坯, 打坏 → 打坯), which must stay as written.
    """
    if not _traditional_pattern().search(text):
        return text
    converted = _t2s().convert(text)
    if len(converted) != len(text):
        return converted
    changed = traditional_chars()
    return "".join(new if old in changed or old > "\uffff" else old for old, new in zip(text, converted))


def has_han(text: str) -> bool:
    """True when ``text`` holds at least one Chinese character."""
    return _HAN.search(text) is not None


def resource_lines(name: str) -> list[str]:
    """Non-empty, stripped lines of a resource file of the package; lines starting with ``# `` are comments."""
    body = resources.files("classifier.resources").joinpath(name).read_text(encoding="utf-8")
    lines = (line.strip() for line in body.splitlines())
    return [line for line in lines if line and not line.startswith("# ")]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Function words and punctuation dropped from word features."""
    return frozenset(resource_lines("stopwords.txt")) | {" "}


@lru_cache(maxsize=1)
def user_words() -> tuple[tuple[str, int, str], ...]:
    """Domain terms and department names added to jieba's dictionary: (word, frequency, tag)."""
    words = []
    for line in resource_lines("userdict.txt"):
        word, freq, tag = line.split()
        words.append((word, int(freq), tag))
    return tuple(words)


@lru_cache(maxsize=2)
def _segmenter(name: str):
    """A segmenter of our own (the user dictionary added to a private instance, never to jieba's global one)."""
    if name == "rjieba":
        import rjieba

        tokenizer = rjieba.Jieba()
        for word, freq, tag in user_words():
            tokenizer.add_word(word, freq, tag)
        return lambda text: tokenizer.cut(text, False)
    if name == "jieba":
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        for word, freq, tag in user_words():
            tokenizer.add_word(word, freq, tag)
        return lambda text: tokenizer.lcut(text, HMM=False)
    raise ValueError(f"Unknown tokenizer {name!r}; expected one of {', '.join(TOKENIZERS)}.")


def segment(text: str, tokenizer: str = "rjieba") -> list[str]:
    """All jieba segments of ``text`` (dictionary only, no HMM), punctuation and spaces included."""
    return _segmenter(tokenizer)(text)


def tag(text: str) -> list[tuple[str, str]]:
    """``segment``'s words with their jieba part-of-speech tags (``nr`` for a person's name …), via rjieba."""
    _segmenter("rjieba")  # loads the domain dictionary
    import rjieba

    return rjieba.tag(text, False)


def tokenize(text: str, tokenizer: str = "rjieba") -> list[str]:
    """Words of normalised ``text`` without stop-words, spaces and punctuation; lower-cased."""
    drop = stopwords()
    return [w for w in _segmenter(tokenizer)(text.lower()) if w not in drop and not w.isspace()]
