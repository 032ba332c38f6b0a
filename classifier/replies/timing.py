"""Days from a message to its reply, in working days, and whether that met the department's deadline.

Working days are counted with the Chinese official calendar of the ``chinesecalendar`` package (weekends,
public holidays and the weekend days made working days, 2004–2026); outside those years Monday to Friday
count. The day the message arrived does not count; the day of the reply does (a reply on the next working day
took 1 working day, one on the same day 0), as 12345 hotlines count 办理时限 from the day after receipt.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

CHINESE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def parse_time(value: object) -> dt.datetime | None:
    """A timestamp from the usual spellings (2019/5/6 9:50:38, 2019-05-06, 2019年5月6日, an Excel day number);
    None when empty or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = CHINESE_DATE.sub(lambda m: f"{m.group(1)}-{m.group(2)}-{m.group(3)}", value.strip())
    if re.fullmatch(r"\d{5}(?:\.\d+)?", text):  # Excel serial day (1954–2173)
        return EXCEL_EPOCH + dt.timedelta(days=float(text))
    stamp = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=False)
    if pd.isna(stamp) or not 1990 <= stamp.year <= 2100:
        return None
    return stamp.to_pydatetime().replace(tzinfo=None)


def is_workday(day: dt.date) -> bool:
    """True on a Chinese working day (official calendar where known, else Monday to Friday)."""
    try:
        import chinese_calendar

        return chinese_calendar.is_workday(day)
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def working_days(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
    days = (end - start).days
    return sum(is_workday(start + dt.timedelta(days=i)) for i in range(1, days + 1))


@dataclass(frozen=True)
class Timing:
    days: int | None
    on_time: bool | None
    problem: str | None  # "missing_time", "missing_reply_time", "bad_time", "bad_reply_time", "reply_before_message"


def timing(message_time: object, reply_time: object, deadline_days: int | None) -> Timing:
    """Working days to reply and whether within ``deadline_days`` (None when unknown), or the problem."""
    for value, name in ((message_time, "time"), (reply_time, "reply_time")):
        if not isinstance(value, str) or not value.strip():
            return Timing(None, None, f"missing_{name}")
    start, end = parse_time(message_time), parse_time(reply_time)
    if start is None:
        return Timing(None, None, "bad_time")
    if end is None:
        return Timing(None, None, "bad_reply_time")
    if end < start:
        return Timing(None, None, "reply_before_message")
    days = working_days(start.date(), end.date())
    return Timing(days, None if deadline_days is None else days <= deadline_days, None)
