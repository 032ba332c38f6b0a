"""Command-line usage mistakes (an unknown option, a bad value, a missing argument) as one line in the user's
language, exit code 2, instead of click's usage block in English.

click writes its own reasons in English; the common ones are put into Chinese here by pattern, and any other
reason is kept as click wrote it inside the Chinese line.
"""

from __future__ import annotations

import re

import typer
from typer.core import TyperGroup

from classifier.help_format import HelpContext, with_help_context
from classifier.i18n import tr

# click's exception classes as typer uses them (recent typer releases carry their own copy of click)
_BASES = {cls.__name__: cls for cls in typer.BadParameter.__mro__}
UsageError, ClickException = _BASES["UsageError"], _BASES["ClickException"]

_VALUES = (
    (re.compile(r"^Input should be a valid integer.*$"), lambda m: "应为整数"),
    (re.compile(r"^Input should be a valid number.*$"), lambda m: "应为数字"),
    (re.compile(r"^Input should be greater than or equal to (\S+)$"), lambda m: f"应不小于 {m[1]}"),
    (re.compile(r"^Input should be less than or equal to (\S+)$"), lambda m: f"应不大于 {m[1]}"),
    (re.compile(r"^(.+) is not one of (.+)\.$"), lambda m: f"{m[1]} 不是可选值之一（{m[2]}）"),
)  # fmt: skip
_REASONS = (
    (re.compile(r"^No such option: (\S+?)(?: Did you mean (\S+?)\?)?(?: \(Possible options: (.+)\))?$"),
     lambda m: f"没有选项 {m[1]}" + (f"，是不是 {m[2]}？" if m[2] else "") + (f"（可用：{m[3]}）" if m[3] else "")),
    (re.compile(r"^No such command (.+?)\.(?: Did you mean (.+?)\?)?$"),
     lambda m: f"没有命令 {m[1]}" + (f"，是不是 {m[2]}？" if m[2] else "")),
    (re.compile(r"^Missing option (.+)\.$"), lambda m: f"缺少选项 {m[1]}"),
    (re.compile(r"^Missing argument (.+)\.$"), lambda m: f"缺少参数 {m[1]}"),
    (re.compile(r"^Invalid value for (.+?): (.+)$"), lambda m: f"{m[1]} 的值无效：{_translate(m[2], _VALUES)}"),
    (re.compile(r"^Option (\S+) requires an argument\.$"), lambda m: f"选项 {m[1]} 需要一个值"),
    (re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((.+)\)$"), lambda m: f"多余的参数：{m[1]}"),
)  # fmt: skip


def _translate(text: str, patterns) -> str:
    for pattern, render in patterns:
        match = pattern.match(text)
        if match:
            return render(match)
    return text


def chinese_reason(reason: str) -> str:
    """click's English reason in Chinese where its pattern is known; otherwise as it is."""
    return _translate(reason, _REASONS)


class UsageLine(ClickException):
    """A usage mistake shown as one line: the reason and where to find the command's help."""

    exit_code = 2

    def __init__(self, error: UsageError, command: str = "complaint-router"):
        super().__init__(error.format_message())
        self.command = error.ctx.command_path if error.ctx is not None else command

    def show(self, file=None) -> None:
        reason = " ".join(self.message.split())
        typer.echo(tr(f"错误：{chinese_reason(reason)}（用法见 {self.command} --help）",
                      f"Error: {reason} (see {self.command} --help)"), err=True)  # fmt: skip


def _one_line(error: UsageError, command: str = "complaint-router") -> ClickException:
    """``error`` as a ``UsageLine`` (``command``: whose help to point to when click did not say); the help shown
    for a command given no arguments stays the help."""
    return error if type(error).__name__ == "NoArgsIsHelpError" else UsageLine(error, command)


class OneLineUsageGroup(TyperGroup):
    """The command group whose usage mistakes, its own and its commands', are ``UsageLine`` errors, and whose help
    pages, its own and its commands', speak the user's language."""

    context_class = HelpContext

    def get_command(self, ctx: typer.Context, name: str):
        return with_help_context(super().get_command(ctx, name))

    def make_context(self, *args, **kwargs) -> typer.Context:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as error:
            raise _one_line(error) from None

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UsageError as error:  # click leaves out the context of some, e.g. "Option '-o' requires an argument"
            name = ctx.invoked_subcommand
            raise _one_line(error, f"{ctx.command_path} {name}" if name else ctx.command_path) from None
