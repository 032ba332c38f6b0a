"""Checking departments' replies to citizens' messages: relevance, per-ask completeness, brush-off formulas,
evidence of action, timeliness against the catalogue's deadline classes, and an explained grade.

``check_replies`` scores a whole file; ``score_reply`` one message and its reply; ``write_report`` the
supervisor's report. Modules: ``lexicon`` (curated lists, in ``resources/reply_lexicon.txt``), ``signals``
(what a reply says), ``asks`` (a message's asks), ``timing`` (working days), ``scoring`` (the grade),
``files`` (whole files), ``report`` (Markdown + PNG).
"""

from classifier.replies.files import OUTPUT_COLUMNS, ReplySummary, check_replies
from classifier.replies.report import write_report
from classifier.replies.scoring import DEFAULT_THRESHOLDS, ReplyScore, Thresholds, score_reply

__all__ = ["OUTPUT_COLUMNS", "DEFAULT_THRESHOLDS", "ReplyScore", "ReplySummary", "Thresholds", "check_replies",
           "score_reply", "write_report"]  # fmt: skip
