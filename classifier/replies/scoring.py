"""One reply scored: relevance, completeness, brush-offs, evidence of action, timeliness, a grade and its reasons.

The grade follows written rules whose thresholds are in ``Thresholds`` (chosen on hand-graded replies, see
``benchmarks/replies_quality.py``):

* ``poor`` when the reply has no substance, only forwards the matter, holds brush-off formulas and no concrete
  evidence, has little in common with the message (答非所问), or leaves most of several asks unanswered
  (避重就轻);
* ``good`` when it holds enough concrete evidence (actions done, dates, amounts, cited rules, direct answers),
  answers enough of the asks and is on the message's subject;
* ``acceptable`` otherwise, with the shortfalls as reasons.

Lateness never changes the grade; it is reported in ``on_time`` and in the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from classifier.i18n import tr
from classifier.replies.asks import Ask, judge_asks
from classifier.replies.signals import MAX_CHARS, Evidence, clean, find_evidence, outermost, relevance, substance
from classifier.replies.timing import timing

QUALITIES = ("good", "acceptable", "poor")


@dataclass(frozen=True)
class Thresholds:
    """The numbers behind the grade (defaults chosen on the hand-graded replies, see the benchmark)."""

    answered_share: float = 0.25  # an ask is answered when this share of its key terms is in the reply …
    answered_terms: int = 2  # … or this many of them
    min_substance: int = 25  # characters of substance below which a reply with little evidence is empty
    thin_concrete: int = 3  # evidence below this cannot carry a forwarding note or brush-off formulas
    poor_relevance: float = 0.03  # below: 答非所问
    poor_completeness: float = 0.0  # with two asks or more; 0 turns the 避重就轻 rule off (see the benchmark)
    good_concrete: int = 2
    good_completeness: float = 1.0
    good_relevance: float = 0.1

    def __post_init__(self):
        if not 0 <= self.poor_completeness <= self.good_completeness <= 1:
            raise ValueError("Thresholds: expected 0 <= poor_completeness <= good_completeness <= 1.")
        if not 0 < self.answered_share <= 1 or self.answered_terms < 1:
            raise ValueError("Thresholds: expected 0 < answered_share <= 1 and answered_terms >= 1.")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass
class ReplyScore:
    relevance: float | None = None
    completeness: float | None = None
    unanswered: list[str] = field(default_factory=list)
    brushoff_phrases: list[str] = field(default_factory=list)
    concrete_actions: list[str] = field(default_factory=list)
    days_to_reply: int | None = None
    on_time: bool | None = None
    quality: str = ""
    reasons: list[str] = field(default_factory=list)
    time_problem: str = ""  # a key of TIME_PROBLEMS when days to reply could not be computed

    def row(self) -> dict:
        """The output columns (lists joined with '；' or ' | ', empty string for unknown)."""
        blank = lambda v: "" if v is None else v  # noqa: E731
        return {
            "relevance": blank(self.relevance),
            "completeness": blank(self.completeness),
            "unanswered": " | ".join(self.unanswered),
            "brushoff_phrases": "；".join(self.brushoff_phrases),
            "concrete_actions": "；".join(self.concrete_actions),
            "days_to_reply": blank(self.days_to_reply),
            "on_time": blank(self.on_time),
            "quality": self.quality,
            "reasons": tr("；", "; ").join(self.reasons),
        }


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(items: list[str], n: int = 2) -> str:
    return tr("、", ", ").join(f"“{_short(x, 16)}”" for x in items[:n])


TIME_PROBLEMS = {
    "missing_time": ("缺少留言时间，未计算答复用时", "no message time, days to reply not computed"),
    "missing_reply_time": ("缺少答复时间，未计算答复用时", "no reply time, days to reply not computed"),
    "bad_time": ("留言时间无法识别，未计算答复用时", "message time unreadable, days to reply not computed"),
    "bad_reply_time": ("答复时间无法识别，未计算答复用时", "reply time unreadable, days to reply not computed"),
    "reply_before_message": ("答复时间早于留言时间，请核对时间", "reply time is before the message time; check the times"),
}
TIME_PROBLEM_NAMES = {  # the same problems, named briefly for the report's counts
    "missing_time": ("缺少留言时间", "no message time"),
    "missing_reply_time": ("缺少答复时间", "no reply time"),
    "bad_time": ("留言时间无法识别", "message time unreadable"),
    "bad_reply_time": ("答复时间无法识别", "reply time unreadable"),
    "reply_before_message": ("答复时间早于留言时间", "reply dated before the message"),
}


@dataclass
class Analysis:
    """What the grade is decided from (computed once, graded under any ``Thresholds``)."""

    relevance: float
    asks: list[Ask]
    evidence: Evidence
    body_chars: int


def analyse(title: object, text: object, reply: object) -> Analysis | None:
    """Relevance, asks, evidence and substance of one reply; None when there is no reply."""
    title_c, text_c, reply_c = clean(title), clean(text), clean(reply)
    if not reply_c.strip():
        return None
    body = substance(reply_c)
    message = f"{title_c}。{text_c}" if title_c else text_c
    return Analysis(relevance(message, body or reply_c), judge_asks(title_c, text_c, reply_c), find_evidence(reply_c), len(body))


def score_reply(
    title: object,
    text: object,
    reply: object,
    *,
    message_time: object = None,
    reply_time: object = None,
    deadline_days: int | None = None,
    deadline_class: str = "",
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> ReplyScore:
    """Score one message + reply. Never raises on strings or missing values."""
    score = ReplyScore()
    when = timing(message_time, reply_time, deadline_days)
    score.days_to_reply, score.on_time, score.time_problem = when.days, when.on_time, when.problem or ""
    timing_reasons = []
    if when.problem:
        timing_reasons.append(tr(*TIME_PROBLEMS[when.problem]))
    elif when.on_time is False:
        timing_reasons.append(tr(f"超过{deadline_class}类时限（{deadline_days}个工作日），用时{when.days}个工作日",
                                 f"late: {when.days} working days against {deadline_days} (class {deadline_class})"))  # fmt: skip
    elif when.on_time is None and when.days is not None:
        timing_reasons.append(tr("部门时限未知，未判断是否按时", "department deadline unknown, on_time not judged"))
    analysis = analyse(title, text, reply)
    if analysis is None:
        score.reasons = [tr("没有答复", "no reply")] + timing_reasons
        return score
    grade(analysis, thresholds, score)
    if isinstance(reply, str) and len(reply) > MAX_CHARS:
        score.reasons.append(tr(f"答复过长（{len(reply)}字），只评了开头和结尾共{MAX_CHARS}字",
                                f"very long reply ({len(reply)} characters): scored on its first and last {MAX_CHARS}"))  # fmt: skip
    score.reasons += timing_reasons
    return score


def grade(analysis: Analysis, t: Thresholds, score: ReplyScore | None = None) -> ReplyScore:
    """Fill ``score``'s content columns, quality and reasons from ``analysis`` under thresholds ``t``."""
    score = score if score is not None else ReplyScore()
    ev, asks = analysis.evidence, analysis.asks
    answered = [a.answered(t.answered_share, t.answered_terms) for a in asks]
    score.relevance = analysis.relevance
    score.completeness = round(sum(answered) / len(asks), 3) if asks else 1.0
    score.unanswered = [_short(a.text, 40) for a, ok in zip(asks, answered) if not ok]
    score.brushoff_phrases = ev.brushoff_list()
    score.concrete_actions = ev.concrete_list()
    concrete, n_asks, missing = ev.concrete, len(asks), len(score.unanswered)
    strong = outermost(ev.brushoffs + ev.objectless)
    poor = []
    if analysis.body_chars < t.min_substance and concrete < t.thin_concrete:
        poor.append(tr("答复没有实质内容（只有客套话、收悉或转办）", "no substance (only courtesy, 'received' or forwarding)"))
    elif ev.forwards and concrete < t.thin_concrete:
        poor.append(tr(f"只称已转办（{_quote(ev.forwards, 1)}），没有办理结果",
                       f"only says the matter was forwarded ({_quote(ev.forwards, 1)}), no result"))  # fmt: skip
    elif strong and concrete < t.thin_concrete:
        poor.append(tr(f"只有套话（{_quote(strong)}），没有具体事实或措施", f"only formulas ({_quote(strong)}), no facts or measures"))
    if score.relevance < t.poor_relevance:
        poor.append(tr(f"答非所问：与留言内容关联度低（{score.relevance:.2f}）",
                       f"off the point: little in common with the message (relevance {score.relevance:.2f})"))  # fmt: skip
    if n_asks >= 2 and score.completeness < t.poor_completeness:
        poor.append(tr(f"避重就轻：{n_asks}项诉求中{missing}项未答复（{_quote(score.unanswered, 1)}）",
                       f"dodges: {missing} of {n_asks} asks unanswered ({_quote(score.unanswered, 1)})"))  # fmt: skip
    if poor:
        score.quality, score.reasons = "poor", poor
        return score
    shortfalls = []
    if concrete < t.good_concrete:
        brush = score.brushoff_phrases
        shortfalls.append(tr(f"多为承诺或套话（{_quote(brush)}），具体事实或措施少", f"mostly promises or formulas ({_quote(brush)}), few facts or measures")
                          if brush else tr("具体事实或措施少", "few concrete facts or measures"))  # fmt: skip
    if score.completeness < t.good_completeness:
        shortfalls.append(tr(f"{n_asks}项诉求中{missing}项未答复（{_quote(score.unanswered, 1)}）",
                             f"{missing} of {n_asks} asks unanswered ({_quote(score.unanswered, 1)})"))  # fmt: skip
    if score.relevance < t.good_relevance:
        shortfalls.append(tr(f"与留言内容关联度偏低（{score.relevance:.2f}）", f"weakly related to the message (relevance {score.relevance:.2f})"))
    if shortfalls:
        score.quality, score.reasons = "acceptable", shortfalls
    else:
        shown = _quote(score.concrete_actions, 3)
        score.quality, score.reasons = "good", [tr(f"有具体措施或答复（{shown}）", f"concrete measures or answers ({shown})")]
    return score
