"""Routing whole files: stream chunks in, route them (optionally on several processes), stream chunks out.

Memory stays flat: at most ``jobs + 1`` chunks are in flight. Rows keep their order and their input columns; every
input row gives exactly one output row. The output is written to a temporary file and renamed at the end.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io import Chunk, Table, TableWriter, append_columns, check_output_path, open_table
from classifier.artifact import RoutingModel, load_model
from classifier.catalogue import Catalogue
from classifier.router import output_columns, route_rows

_WORKER_MODEL: RoutingModel | None = None
"""The model of a worker process (set by ``_init_worker`` in workers only; the calling process never sets it)."""


@dataclass
class RouteSummary:
    output: Path
    rows: int
    routed: int
    errors: int
    needs_review: int
    seconds: float
    model_version: str
    source: str = ""
    """What was read (``Table.describe``: sheet, header row, text and title columns), for stderr."""
    warnings: list[str] = field(default_factory=list)
    """What the user should know about the input (``Table.warnings``: renamed duplicate columns, lines read in
    another encoding, NUL bytes removed …)."""
    masked: dict[str, int] = field(default_factory=dict)
    """Pieces of personal data masked per kind (``mask_pii``)."""
    repeats: int = 0
    """Rows that repeat a past case of ``history``."""


def _route_chunk(titles: list, texts: list) -> pd.DataFrame:
    """Routing in a worker process."""
    return route_rows(_WORKER_MODEL, titles, texts)


def _start_method() -> str:
    """fork (workers share the loaded model) unless unavailable or unsafe: forking after torch has started its
    threads can deadlock, so a process that imported torch starts fresh workers that load the model."""
    if "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules:
        return "fork"
    return "spawn"


def _init_worker(model: RoutingModel | str, catalogue: Catalogue | None = None) -> None:
    """Worker set-up: the model (inherited through fork, or loaded from its folder when spawned, with the
    catalogue that replaces its own); Ctrl-C is the parent's to handle (it lets the chunks in flight finish and
    cleans up), SIGTERM ends a worker."""
    global _WORKER_MODEL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER_MODEL = model if isinstance(model, RoutingModel) else load_model(model).with_catalogue(catalogue)


def output_frame(chunk: pd.DataFrame, routed: pd.DataFrame, errors: Sequence[str] = ()) -> pd.DataFrame:
    """Input columns (renamed ``<name>_input`` where they clash with ours) followed by the routing columns; a row
    that could not be read (a reason in ``errors``) gets ``route_status`` = ``error: <reason>``, ``needs_review`` and
    nothing else."""
    out = append_columns(chunk, routed)
    if any(errors):
        reasons = pd.Series(list(errors), dtype=str)
        bad = (reasons != "").to_numpy()
        out.loc[bad, "route_status"] = "error: " + reasons[bad].to_numpy()
        for column in routed.columns:
            if column not in ("route_status", "model_version"):
                out.loc[bad, column] = ""
        out.loc[bad, "needs_review"] = True  # like every row that cannot be routed
    return out


def _chunk_inputs(table, chunks: Iterator[Chunk]):
    """(chunk, titles, texts) per chunk; a row that could not be read has no text (it is not routed)."""
    for chunk in chunks:
        frame = chunk.frame
        texts = frame[table.text_col].tolist()
        titles = frame[table.title_col].tolist() if table.title_col else [""] * len(texts)
        if chunk.has_errors:
            texts = [None if error else t for t, error in zip(texts, chunk.errors)]
        yield Chunk(frame.fillna(""), chunk.errors), titles, [t if isinstance(t, str) else None for t in texts]


def route_file(
    input_path: str | Path,
    output_path: str | Path,
    model,
    *,
    text_col: str | None = None,
    title_col: str | None = None,
    sheet: str | int | None = None,
    jobs: int = 1,
    chunk_size: int = 2000,
    on_start: Callable[[Table], None] = lambda table: None,
    on_progress: Callable[[int], None] = lambda rows: None,
    mask_pii: bool = False,
    history=None,
    catalogue: Catalogue | None = None,
) -> RouteSummary:
    """Route every row of ``input_path`` into ``output_path`` (format from its extension).

    ``model`` is a loaded ``RoutingModel`` or a model folder (loaded after the input and output are checked).
    ``sheet``: the worksheet of a workbook to read (name, or number from 1; default: the first with a text column).
    ``jobs`` > 1 routes chunks of a linear model on that many processes with results identical to ``jobs=1``.
    ``on_start`` gets the opened input table (what is read, its warnings, its row estimate) before routing starts,
    ``on_progress`` the rows written so far after each chunk. ``mask_pii`` masks personal data in the title and
    text columns of the output, after routing (``classifier.privacy``); ``RouteSummary.masked`` counts the
    pieces per kind. ``history`` (a ``repeats.RepeatIndex``) adds ``repeat_of`` and ``repeat_department`` to every
    row. ``catalogue`` replaces the model's department catalogue (keywords and responsibility text) for this
    run. Raises ``InputError``/``ModelError`` on unusable input. Keeps no state between calls.
    """
    start = time.perf_counter()
    table = open_table(input_path, text_col=text_col, title_col=title_col, sheet=sheet)
    check_output_path(output_path)
    if Path(output_path).exists() and Path(output_path).resolve() == Path(input_path).resolve():
        raise InputError(tr(f"输出 {output_path} 就是输入文件：请另取一个文件名（输入文件保持不变）。",
                            f"Output {output_path} is the input file: expected another file name (the input is kept)."))
    if not isinstance(model, RoutingModel):
        model = load_model(model)
    model = model.with_catalogue(catalogue)
    if model.model.needs_torch:
        jobs = 1  # torch does not survive fork; one process drives the GPU or all CPU threads
    on_start(table)
    columns = output_columns(model.labels) + (["repeat_of", "repeat_department"] if history is not None else [])
    jobs = max(1, min(jobs if jobs > 0 else os.cpu_count() or 1, 64))
    inputs = _chunk_inputs(table, table.chunks(chunk_size))
    head = list(itertools.islice(inputs, 2))
    if len(head) < 2:
        jobs = 1  # one chunk: no gain from starting processes
    inputs = itertools.chain(head, inputs)
    counts = {"rows": 0, "routed": 0, "review": 0, "repeats": 0}
    masked: collections.Counter = collections.Counter()
    pool = None
    try:
        if jobs > 1:
            method = _start_method()
            shared = model if method == "fork" else str(model.path)  # fork: workers share the loaded model
            pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method), initializer=_init_worker,
                                       initargs=(shared, catalogue))  # fmt: skip
        with TableWriter(output_path) as writer:
            for chunk, texts, routed in _routed_chunks(inputs, model, pool, jobs):
                if history is not None:
                    routed["repeat_of"], routed["repeat_department"], _ = history.match(texts)
                    counts["repeats"] += int(routed["repeat_of"].ne("").sum())
                frame = _masked(chunk.frame, [table.title_col, table.text_col], masked) if mask_pii else chunk.frame
                _write(writer, output_frame(frame, routed, chunk.errors), counts, on_progress)
            if counts["rows"] == 0:
                empty = pd.DataFrame(columns=list(table.columns), dtype=str)
                writer.write(output_frame(empty, pd.DataFrame(columns=columns, dtype=str)))
    finally:
        if pool is not None:
            # Queued chunks are cancelled and the ones in flight (at most ``jobs``) finish. Workers are never
            # terminated: one killed while writing its result leaves half a message that the pool waits on forever.
            pool.shutdown(wait=True, cancel_futures=True)
    return RouteSummary(
        output=Path(output_path),
        rows=counts["rows"],
        routed=counts["routed"],
        errors=counts["rows"] - counts["routed"],
        needs_review=counts["review"],
        seconds=round(time.perf_counter() - start, 3),
        model_version=model.version,
        source=table.describe(),
        warnings=list(table.warnings),
        masked=dict(masked),
        repeats=counts["repeats"],
    )


def _routed_chunks(inputs, model: RoutingModel, pool, jobs: int):
    """(input chunk, its texts as routed, routing columns) in input order; with a pool, at most ``jobs + 1`` chunks
    in flight.

    A worker's exception (or its death) is raised here, in the calling process.
    """
    if pool is None:
        for chunk, titles, texts in inputs:
            yield chunk, texts, route_rows(model, titles, texts)
        return
    pending: collections.deque = collections.deque()
    for chunk, titles, texts in inputs:
        pending.append((chunk, texts, pool.submit(_route_chunk, titles, texts)))
        while pending and (len(pending) > jobs or pending[0][2].done()):
            done, done_texts, future = pending.popleft()
            yield done, done_texts, future.result()
    while pending:
        done, done_texts, future = pending.popleft()
        yield done, done_texts, future.result()


def _masked(chunk: pd.DataFrame, columns: list, counts: collections.Counter) -> pd.DataFrame:
    from classifier.privacy import mask_frame

    chunk, found = mask_frame(chunk, [c for c in columns if c])
    counts.update(found)
    return chunk


def _write(writer: TableWriter, frame: pd.DataFrame, counts: dict, on_progress) -> None:
    writer.write(frame)
    counts["rows"] += len(frame)
    counts["routed"] += int(frame["route_status"].eq("ok").sum())
    counts["review"] += int(frame["needs_review"].astype(str).eq("True").sum())
    on_progress(counts["rows"])
