"""The curated word lists and patterns of the reply checker, read from ``resources/reply_lexicon.txt``.

The file says where every entry comes from; this module only parses it: ``[section]`` headers, one entry a line,
``  #`` starts a comment. Sections whose name ends in ``_pattern`` are compiled as regular expressions;
``department_alias`` lines are ``short=catalogue name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LEXICON_FILE = "reply_lexicon.txt"


@dataclass(frozen=True)
class Lexicon:
    brushoff: tuple[str, ...]
    forward: tuple[re.Pattern, ...]
    future_marker: tuple[str, ...]
    future_exclude: tuple[str, ...]
    objectless: tuple[re.Pattern, ...]
    done_action: tuple[str, ...]
    answer_marker: tuple[str, ...]
    courtesy: tuple[re.Pattern, ...]
    generic_term: frozenset[str]
    ask_marker: tuple[str, ...]
    department_alias: tuple[tuple[str, str], ...]


def parse_sections(text: str) -> dict[str, list[str]]:
    """``{section: [entry, …]}`` from the lexicon file format (comments and blank lines dropped)."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("  #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is None:
            raise ValueError(f"{LEXICON_FILE}: entry {line!r} before any [section] header.")
        else:
            current.append(line)
    return sections


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The lexicon shipped with the package (parsed once)."""
    text = resources.files("classifier.resources").joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    s = parse_sections(text)
    aliases = tuple(tuple(line.split("=", 1)) for line in s["department_alias"])
    return Lexicon(
        brushoff=tuple(s["brushoff"]),
        forward=tuple(re.compile(p) for p in s["forward_pattern"]),
        future_marker=tuple(s["future_marker"]),
        future_exclude=tuple(s["future_exclude"]),
        objectless=tuple(re.compile(p) for p in s["objectless_pattern"]),
        done_action=tuple(s["done_action"]),
        answer_marker=tuple(s["answer_marker"]),
        courtesy=tuple(re.compile(p) for p in s["courtesy_pattern"]),
        generic_term=frozenset(s["generic_term"]),
        ask_marker=tuple(s["ask_marker"]),
        department_alias=aliases,  # type: ignore[arg-type]
    )
