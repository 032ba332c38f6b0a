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
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from classifier.errors import InputError
from classifier.io import ERROR_COLUMN, TableWriter, check_output_path, open_table
from classifier.artifact import RoutingModel, load_model
from classifier.router import output_columns, route_rows

_WORKER_MODEL = None


@dataclass
class RouteSummary:
    output: Path
    rows: int
    routed: int
    errors: int
    needs_review: int
    seconds: float
    model_version: str
    repeats: int = 0


def _route_chunk(titles: list, texts: list) -> pd.DataFrame:
    return route_rows(_WORKER_MODEL, titles, texts)


def _start_method() -> str:
    """fork (workers share the loaded model) unless unavailable or unsafe: forking after torch has started its
    threads can deadlock, so a process that imported torch starts fresh workers that load the model."""
    if "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules:
        return "fork"
    return "spawn"


def _init_worker(model_path: str) -> None:
    """Worker set-up: the parent handles Ctrl-C and clean-up; a terminated worker just ends."""
    global _WORKER_MODEL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _WORKER_MODEL is None:
        from classifier.artifact import load_model

        _WORKER_MODEL = load_model(model_path)


def output_frame(chunk: pd.DataFrame, routed: pd.DataFrame) -> pd.DataFrame:
    """Input columns (renamed ``<name>_input`` where they clash with ours) followed by the routing columns."""
    errors = chunk.pop(ERROR_COLUMN) if ERROR_COLUMN in chunk else None
    taken = set(chunk.columns) | set(routed.columns)
    clash = {}
    for column in chunk.columns:
        if column in routed.columns:
            name, n = f"{column}_input", 2
            while name in taken:  # the input may already hold ``department_input`` (a routed file routed again)
                name, n = f"{column}_input_{n}", n + 1
            clash[column] = name
            taken.add(name)
    out = pd.concat([chunk.rename(columns=clash).reset_index(drop=True), routed.reset_index(drop=True)], axis=1)
    if errors is not None:
        bad = errors.to_numpy() != ""
        out.loc[bad, "route_status"] = "error: " + errors[bad].to_numpy()
        for column in routed.columns:
            if column not in ("route_status", "model_version"):
                out.loc[bad, column] = ""
    return out


def _chunk_inputs(table, chunks: Iterator[pd.DataFrame]):
    for chunk in chunks:
        texts = chunk[table.text_col].tolist()
        titles = chunk[table.title_col].tolist() if table.title_col else [""] * len(texts)
        if ERROR_COLUMN in chunk:
            bad = chunk[ERROR_COLUMN].to_numpy() != ""
            texts = [None if b else t for t, b in zip(texts, bad)]
        yield chunk.fillna(""), titles, [t if isinstance(t, str) else None for t in texts]


def route_file(
    input_path: str | Path,
    output_path: str | Path,
    model,
    *,
    text_col: str | None = None,
    title_col: str | None = None,
    jobs: int = 1,
    chunk_size: int = 2000,
    on_progress: Callable[[int], None] = lambda rows: None,
    history=None,
) -> RouteSummary:
    """Route every row of ``input_path`` into ``output_path`` (format from its extension).

    ``model`` is a loaded ``RoutingModel`` or a model folder (loaded after the input and output are checked).
    ``jobs`` > 1 routes chunks of a linear model on that many processes with results identical to ``jobs=1``.
    ``history`` (a ``repeats.RepeatIndex``) adds ``repeat_of`` and ``repeat_department`` to every row.
    Raises ``InputError``/``FileNotFoundError``/``ModelError`` on unusable input.
    """
    global _WORKER_MODEL
    start = time.perf_counter()
    table = open_table(input_path, text_col=text_col, title_col=title_col)
    check_output_path(output_path)
    if Path(output_path).exists() and Path(output_path).resolve() == Path(input_path).resolve():
        raise InputError(f"Output {output_path} is the input file: expected another file name (the input is kept).")
    if not isinstance(model, RoutingModel):
        model = load_model(model)
    if model.model.kind != "linear":
        jobs = 1  # torch does not survive fork; one process drives the GPU or all CPU threads
    columns = output_columns(model.labels) + (["repeat_of", "repeat_department"] if history is not None else [])
    jobs = max(1, min(jobs if jobs > 0 else os.cpu_count() or 1, 64))
    inputs = _chunk_inputs(table, table.chunks(chunk_size))
    head = list(itertools.islice(inputs, 2))
    if len(head) < 2:
        jobs = 1  # one chunk: no gain from starting processes
    inputs = itertools.chain(head, inputs)
    counts = {"rows": 0, "routed": 0, "review": 0}
    pool = None
    _WORKER_MODEL = model
    try:
        if jobs > 1:
            context = multiprocessing.get_context(_start_method())
            pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(str(model.path),))
        with TableWriter(output_path) as writer:
            for chunk, routed in _routed_chunks(inputs, pool, jobs):
                if history is not None:
                    texts = chunk[table.text_col].where(chunk.get(ERROR_COLUMN, pd.Series("", chunk.index)).eq(""), "")
                    routed["repeat_of"], routed["repeat_department"], _ = history.match(texts.tolist())
                    counts["repeats"] = counts.get("repeats", 0) + int(routed["repeat_of"].ne("").sum())
                _write(writer, output_frame(chunk, routed), counts, on_progress)
            if counts["rows"] == 0:
                empty = pd.DataFrame(columns=list(table.columns), dtype=str)
                writer.write(output_frame(empty, pd.DataFrame(columns=columns, dtype=str)))
    finally:
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
        _WORKER_MODEL = None
    return RouteSummary(
        output=Path(output_path),
        rows=counts["rows"],
        routed=counts["routed"],
        errors=counts["rows"] - counts["routed"],
        needs_review=counts["review"],
        seconds=round(time.perf_counter() - start, 3),
        model_version=model.version,
        repeats=counts.get("repeats", 0),
    )


def _routed_chunks(inputs, pool, jobs: int):
    """(input chunk, routing columns) in input order; with a pool, at most ``jobs + 1`` chunks in flight.

    A worker's exception (or its death) is raised here, in the calling process.
    """
    if pool is None:
        for chunk, titles, texts in inputs:
            yield chunk, _route_chunk(titles, texts)
        return
    pending: collections.deque = collections.deque()
    for chunk, titles, texts in inputs:
        pending.append((chunk, pool.submit(_route_chunk, titles, texts)))
        while pending and (len(pending) > jobs or pending[0][1].done()):
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _write(writer: TableWriter, frame: pd.DataFrame, counts: dict, on_progress) -> None:
    writer.write(frame)
    counts["rows"] += len(frame)
    counts["routed"] += int(frame["route_status"].eq("ok").sum())
    counts["review"] += int(frame["needs_review"].astype(str).eq("True").sum())
    on_progress(counts["rows"])
