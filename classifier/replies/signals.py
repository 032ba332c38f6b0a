"""What a reply says: its substance, key terms shared with the message, brush-off formulas and action evidence.

Every finding is kept as the snippet of text it was found in, so that a supervisor can check it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from classifier.replies.lexicon import lexicon
from classifier.text import normalize, tokenize

MAX_CHARS = 20_000
"""Longer messages and replies are scored on their first and last characters (``normalize``'s head + tail)."""

SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
CLAUSE_END = re.compile(r"[。！？!?；;，,、\n]+")
DATE = re.compile(
    r"(?:(?:19|20)\d\d\s*[年./-]\s*)?\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?|(?:19|20)\d\d\s*年"
    r"|(?:19|20)\d\d[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}\s*[日号](?:前|之前|起|至)"
    r"|年底|年内|月底|月内|上旬|中旬|下旬|春节前|\d+\s*个?(?:工作日|日|天|周|个月)内"
)
AMOUNT = re.compile(
    r"\d[\d,.]*\s*(?:万|亿|千)?\s*(?:元|块|台次|台|辆|人次|人|户|起|件|次|处|米|公里|平方米|㎡|亩|%|个班|座|名|家|所|分贝|吨|份|套|栋)"
)
CITATION = re.compile(r"《[^》]{2,60}》|第[一二三四五六七八九十百零\d]+条")
PAST = ("已", "了", "立即", "当即", "随即", "及时", "遂", "先后", "共", "累计")
ENTITY = re.compile(
    r"[A-Z]\d{0,2}(?:市|县|区)|[\u4e00-\u9fff]{2,8}?(?:小区|社区|街道|大道|路|街|巷|村|镇|乡|公司|学校|中学|小学|幼儿园|"
    r"医院|公园|广场|车站|汽车站|大厦|花园|新城|中心|市场|工业园|高速|线|站|桥)"
)


def clean(text: object, limit: int = MAX_CHARS) -> str:
    """Normalised text ('' for a missing value)."""
    return normalize(text.replace("_x000D_", " "), max_chars=limit) if isinstance(text, str) else ""


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def clauses(text: str) -> list[str]:
    return [c.strip() for c in CLAUSE_END.split(text) if c.strip()]


def substance(reply: str) -> str:
    """The reply without its courtesy formulas (greetings, 'received', thanks, signed date)."""
    for pattern in lexicon().courtesy:
        reply = pattern.sub("", reply)
    return reply.strip(" ，,。:：!！")


def key_terms(text: str, limit: int = 40) -> list[str]:
    """The message's content words (two characters or more, no generic words), most frequent first."""
    generic = lexicon().generic_term
    words = [w for w in tokenize(text) if len(w) >= 2 and not w.isdigit() and w not in generic and w != "tel"]
    return [w for w, _ in Counter(words).most_common(limit)]


def entities(text: str) -> list[str]:
    """Places and named bodies (anonymised places such as ``A7县``, names ending in 小区/路/公司 …)."""
    seen: dict[str, None] = {}
    for match in ENTITY.finditer(text):
        seen.setdefault(match.group(0), None)
    return list(seen)


def char_cosine(a: str, b: str) -> float:
    """Cosine similarity of the character bigram counts of two texts."""
    ca = Counter(a[i : i + 2] for i in range(len(a) - 1) if not a[i : i + 2].isspace())
    cb = Counter(b[i : i + 2] for i in range(len(b) - 1) if not b[i : i + 2].isspace())
    dot = sum(v * cb.get(k, 0) for k, v in ca.items())
    norm = math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values()))
    return dot / norm if norm else 0.0


def share_found(terms: list[str], text: str) -> float:
    """Share of ``terms`` that occur in ``text`` (1.0 when there are none)."""
    return sum(t in text for t in terms) / len(terms) if terms else 1.0


def relevance(message: str, reply: str) -> float:
    """0–1: key terms of the message found in the reply, shared places and bodies, and bigram similarity."""
    if not reply:
        return 0.0
    terms = key_terms(message, limit=20)
    places = entities(message)
    term_share = share_found(terms, reply) if terms else 0.0
    similarity = min(1.0, char_cosine(message, reply) / 0.5)
    if places:
        score = 0.5 * term_share + 0.2 * share_found(places, reply) + 0.3 * similarity
    else:
        score = 0.7 * term_share + 0.3 * similarity
    return round(score, 3)


@dataclass
class Evidence:
    """Brush-off formulas and concrete evidence found in one reply."""

    brushoffs: list[str] = field(default_factory=list)
    forwards: list[str] = field(default_factory=list)
    promises: list[str] = field(default_factory=list)
    objectless: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    @property
    def concrete(self) -> int:
        """How many pieces of concrete evidence (actions, dates, amounts, cited rules, direct answers)."""
        return len(self.actions) + len(self.dates) + len(self.amounts) + len(self.citations) + len(self.answers)

    @property
    def forward_without_result(self) -> bool:
        return bool(self.forwards) and not self.actions

    def brushoff_list(self) -> list[str]:
        """Every brush-off finding, in the reply's words (forwarding only when nothing was done); a finding inside
        a longer one is not listed again."""
        found = list(self.brushoffs) + list(self.objectless)
        if self.forward_without_result:
            found += self.forwards
        if not self.actions:
            found += self.promises
        return outermost(found)

    def concrete_list(self) -> list[str]:
        return list(dict.fromkeys(self.actions + self.dates + self.amounts + self.citations + self.answers))


def outermost(phrases: list[str]) -> list[str]:
    """``phrases`` without repeats and without those found inside a longer one, in order."""
    unique = list(dict.fromkeys(phrases))
    return [p for p in unique if not any(p != other and p in other for other in unique)]


def _is_promise(clause: str) -> bool:
    lex = lexicon()
    if any(word in clause for word in PAST):
        return False
    masked = clause
    for word in lex.future_exclude:
        masked = masked.replace(word, "")
    return any(marker in masked for marker in lex.future_marker)


def _snippet(text: str, start: int, end: int, width: int = 12) -> str:
    return text[max(0, start - 6) : min(len(text), end + width)].strip(" ，,。")


def find_evidence(reply: str) -> Evidence:
    """Brush-off formulas, forwarding, promises without a date, object-less 研究/协调/关注, and evidence of action."""
    lex = lexicon()
    ev = Evidence()
    body = substance(reply)
    ev.brushoffs = [phrase for phrase in lex.brushoff if phrase in reply]
    for pattern in lex.forward:
        ev.forwards += [m.group(0) for m in pattern.finditer(reply)]
    for pattern in lex.objectless:
        ev.objectless += [_snippet(reply, max(0, m.start() - 6), m.end(), 0) for m in pattern.finditer(reply)]
    for clause in clauses(body):
        promise = _is_promise(clause)
        if promise and not DATE.search(clause) and len(clause) >= 4:
            ev.promises.append(clause[:30])
        if promise or any(pattern.search(clause) for pattern in lex.forward):
            continue  # a promise or a forwarding note is not something done
        for verb in lex.done_action:
            at = clause.find(verb)
            if at >= 0:
                ev.actions.append(_snippet(clause, at, at + len(verb)))
                break
    ev.dates = list(dict.fromkeys(m.group(0).strip() for m in DATE.finditer(body)))[:8]
    ev.amounts = list(dict.fromkeys(m.group(0).strip() for m in AMOUNT.finditer(body)))[:8]
    ev.citations = list(dict.fromkeys(m.group(0) for m in CITATION.finditer(body)))[:6]
    ev.answers = [marker for marker in lex.answer_marker if marker in body][:6]
    return ev
