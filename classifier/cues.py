"""Screening cues: phrases that point to a non-default screening category (纪检监察, 信访事项, 舆论监督, 无效).

The lexicon is ``resources/cues.json`` (each category with a note on what its cues mean). A plain cue is counted
with ``classifier.features.PhraseCounter``; a gapped cue such as ``不服…决定`` is a regular expression in which
``…`` stands for up to ``GAP_CHARS`` characters of one clause. Documents are matched normalised and lower-cased.
The router applies them (``classifier.router``, cue rules) and training tunes their weight; ``benchmarks/cues.py``
measures how precise each group is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from classifier.features import PhraseCounter
from classifier.text import normalize

GAP = "…"
GAP_CHARS = 12
_GAP_PATTERN = f"[^,.;:!?。、]{{0,{GAP_CHARS}}}"


class CueLexicon:
    """Cue phrases per screening category; ``hits`` counts them in documents."""

    def __init__(self, cues: dict[str, Sequence[str]], notes: dict[str, str] | None = None):
        if not cues or any(not phrases for phrases in cues.values()):
            raise ValueError("A cue lexicon needs at least one category, each with at least one cue.")
        self.categories = tuple(cues)
        self.notes = dict(notes or {})
        self.cues: list[tuple[str, str]] = []
        plain: dict[str, int] = {}
        plain_of_cue, self._patterns = [], []
        for category, phrases in cues.items():
            for cue in phrases:
                parts = [normalize(part).lower() for part in str(cue).split(GAP)]
                if not all(parts):
                    raise ValueError(f"Cue {cue!r} of {category}: expected text around every {GAP!r}.")
                self.cues.append((category, str(cue)))
                if len(parts) == 1:
                    plain_of_cue.append(plain.setdefault(parts[0], len(plain)))
                else:
                    plain_of_cue.append(-1)
                    self._patterns.append((len(self.cues) - 1, re.compile(_GAP_PATTERN.join(map(re.escape, parts)))))
        self._counter = PhraseCounter(list(plain)) if plain else None
        self._plain_of_cue = np.array(plain_of_cue, dtype=np.int64)
        self._membership = np.zeros((len(self.cues), len(self.categories)), dtype=np.float32)
        for i, (category, _) in enumerate(self.cues):
            self._membership[i, self.categories.index(category)] = 1.0

    @classmethod
    def from_dict(cls, raw: dict) -> CueLexicon:
        """From the JSON layout of ``resources/cues.json``: ``{"categories": [{"screening", "note", "cues"}]}``."""
        try:
            entries = raw["categories"]
            return cls({e["screening"]: list(e["cues"]) for e in entries}, {e["screening"]: e.get("note", "") for e in entries})
        except (KeyError, TypeError) as error:
            raise ValueError(f"A cue lexicon needs 'categories': [{{'screening', 'cues'}}, …]; problem: {error!r}.") from None

    def cue_counts(self, docs: Sequence[str]) -> np.ndarray:
        """Matrix (documents x cues, in ``self.cues`` order) of match counts; ``docs`` normalised."""
        lowered = [doc.lower() for doc in docs]
        out = np.zeros((len(docs), len(self.cues)), dtype=np.float32)
        if self._counter is not None:
            is_plain = self._plain_of_cue >= 0
            out[:, is_plain] = self._counter.counts(lowered)[:, self._plain_of_cue[is_plain]]
        for column, pattern in self._patterns:
            out[:, column] = [len(pattern.findall(doc)) for doc in lowered]
        return out

    def hits(self, docs: Sequence[str]) -> np.ndarray:
        """Matrix (documents x categories, in ``self.categories`` order) of cue match counts."""
        return self.cue_counts(docs) @ self._membership


@lru_cache(maxsize=1)
def bundled_lexicon() -> CueLexicon:
    """The lexicon shipped in ``classifier/resources/cues.json``."""
    body = resources.files("classifier.resources").joinpath("cues.json").read_text(encoding="utf-8")
    return CueLexicon.from_dict(json.loads(body))


def cue_hits(docs: Sequence[str]) -> np.ndarray:
    """Cue match counts of the bundled lexicon: documents x ``bundled_lexicon().categories``."""
    return bundled_lexicon().hits(docs)
