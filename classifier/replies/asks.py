"""A message split into its asks, and which of them a reply answers.

An ask is a sentence with a question mark or an asking word (请求/要求/希望/建议/请问/能否/为什么 …, from the
lexicon), or one point of a numbered list (1、 2. （3） 一、 ①). ``judge_asks`` counts how many of each ask's
key terms occur in the reply; ``scoring`` decides from that count whether the ask is answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifier.replies.lexicon import lexicon
from classifier.replies.signals import key_terms

MAX_ASKS = 8
NUMBERED = re.compile(r"(?:^|(?<=[\s。!?;:,]))(?:\d{1,2}\s*[、.)](?!\d)|[(]\s*\d{1,2}\s*[)]|[一二三四五六七八九十]{1,2}\s*[、.]|[①-⑩])")
SENTENCE = re.compile(r"[。!?;？！；\n]+")
QUESTION = re.compile(r"[?？]|吗\s*$|呢\s*$")
PLEASE = re.compile(r"(?<![申邀聘])请(?![假示教柬])")


@dataclass(frozen=True)
class Ask:
    text: str
    terms: tuple[str, ...]
    found: int  # how many of ``terms`` occur in the reply

    def answered(self, share: float, count: int) -> bool:
        """Answered when at least ``share`` of its terms, or ``count`` of them, occur in the reply."""
        return self.found > 0 and (self.found >= count or self.found >= share * len(self.terms))


def _pieces(text: str) -> list[tuple[str, bool]]:
    """(sentence, is a numbered point) in order."""
    pieces = []
    points = [m.start() for m in NUMBERED.finditer(text)]
    numbered = len(points) >= 2
    bounds = [0, *points, len(text)] if numbered else [0, len(text)]
    for start, end in zip(bounds, bounds[1:]):
        chunk = text[start:end]
        is_point = numbered and start in points
        parts = [p.strip() for p in SENTENCE.split(chunk) if p.strip()]
        if is_point and parts:
            pieces.append(("。".join(parts), True))
        else:
            pieces += [(p, False) for p in parts]
    return pieces


def is_ask(sentence: str) -> bool:
    if QUESTION.search(sentence) or PLEASE.search(sentence):
        return True
    return any(marker in sentence for marker in lexicon().ask_marker if marker not in ("请", "吗"))


def split_asks(title: str, text: str) -> list[str]:
    """The asks of a message, in order (the title when nothing in the text asks)."""
    asks = []
    for sentence, is_point in _pieces(text):
        if (is_point or is_ask(sentence)) and len(key_terms(sentence, limit=8)) >= 2:
            asks.append(sentence)
    if not asks:
        fallback = title.strip() or (SENTENCE.split(text.strip())[0] if text.strip() else "")
        asks = [fallback] if fallback else []
    seen: dict[str, None] = {}
    for ask in asks:
        seen.setdefault(ask, None)
    return list(seen)[:MAX_ASKS]


def judge_asks(title: str, text: str, reply: str) -> list[Ask]:
    """Every ask of the message with its key terms and how many of them the reply holds."""
    judged = []
    for ask in split_asks(title, text):
        terms = tuple(key_terms(ask, limit=8))
        judged.append(Ask(ask, terms, sum(t in reply for t in terms) if reply else 0))
    return judged
