"""Help pages in the user's language: click's fixed English words (Usage, Options, [required], the help option's
own line …) in Chinese by default; the commands' and options' own help is already written with ``tr``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from typer.core import TyperCommand

from classifier.i18n import language

# click's classes as typer uses them (recent typer releases carry their own copy of click)
_Context = TyperCommand.context_class
_Formatter = _Context.formatter_class

_HEADINGS = {"Options": "选项", "Arguments": "参数", "Commands": "命令"}
_PHRASES = (
    (re.compile(r"Show this message and exit\."), lambda m: "显示本帮助并退出。"),
    (re.compile(r"\[default: ([^\]]*?)(; |\])"), lambda m: f"[默认：{m[1]}{m[2]}"),
    (re.compile(r"(\[|; )required\]"), lambda m: f"{m[1]}必填]"),
    (re.compile(r"(\[[^\]]*?); ([^\]]*\])"), lambda m: f"{m[1]}；{m[2]}"),
)  # fmt: skip


def _chinese(text: str) -> str:
    for pattern, render in _PHRASES:
        text = pattern.sub(render, text)
    return text


class HelpFormatter(_Formatter):
    """click's help formatter with its fixed words in Chinese unless the user reads English."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None and language() == "zh":
            prefix = "用法："
        super().write_usage(prog, args, prefix)

    def write_heading(self, heading: str) -> None:
        if language() == "zh":
            self.write(f"{'':>{self.current_indent}}{_HEADINGS.get(heading, heading)}：\n")
        else:
            super().write_heading(heading)

    def write_dl(self, rows: Sequence[tuple[str, str]], *args, **kwargs) -> None:
        if language() == "zh":
            rows = [(term, _chinese(text)) for term, text in rows]
        super().write_dl(rows, *args, **kwargs)


class HelpContext(_Context):
    """The context whose help pages use ``HelpFormatter``."""

    formatter_class = HelpFormatter


def with_help_context(command: TyperCommand | None) -> TyperCommand | None:
    """``command`` with ``HelpContext`` as its context class (None stays None)."""
    if command is not None:
        command.context_class = HelpContext
    return command
