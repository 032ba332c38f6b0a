"""The language of what people read: Chinese by default, English on request.

English is used when ``COMPLAINT_ROUTER_LANG=en`` (the command line's ``--lang en`` sets it) or, when that is
unset, when the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``) is an English one. What programs read (column
names, ``route_status`` values, JSON keys) is never translated.
"""

from __future__ import annotations

import os

LANGUAGE_VARIABLE = "COMPLAINT_ROUTER_LANG"
LANGUAGES = ("zh", "en")


def language() -> str:
    """``"zh"`` or ``"en"``."""
    chosen = os.environ.get(LANGUAGE_VARIABLE, "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


def tr(zh: str, en: str) -> str:
    """``zh`` or ``en``, in the language of the user."""
    return en if language() == "en" else zh
