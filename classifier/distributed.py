"""Routing a dataset on a Dask cluster: one task per partition (a file of the dataset), the model loaded once per
worker, the routed partitions written by the workers as a Parquet dataset.

``route_dataframe`` is the library function (a ``dask.dataframe`` in, the routed one out); ``route_dataset`` reads
a dataset, routes it on a ``LocalCluster`` or an existing scheduler and writes the output atomically (a hidden
folder renamed at the end). Rows, columns, error rows and routing decisions are those of ``route_file``. Only
the ``--dask`` path imports this module (and dask).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from distributed import WorkerPlugin

from classifier.artifact import RoutingModel, default_model_path, load_model
from classifier.catalogue import Catalogue
from classifier.batch import RouteSummary, output_frame
from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io import TEXT_COLUMNS, TITLE_COLUMNS, check_output_path, find_column, open_table
from classifier.io.formats import is_dataset_output
from classifier.io.parquet import write_parquet
from classifier.io.writers import PART_NAME, part_name, replacing_folder
from classifier.router import output_columns, route_rows

READ_ERROR_COLUMN = "__read_error__"
"""Column of a partition read by ``read_dataset``: why a row could not be read (``""`` when fine); dropped when
the partition is routed."""
STATS = {"partition": "int64", "worker": "object", "rows": "int64", "routed": "int64", "needs_review": "int64"}
"""What the writing task of a partition returns."""

LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
"""Workers of a ``LocalCluster``: no statistical profiler (it samples the routing thread every 10 ms; routing ran
about 20% faster without it in a worker)."""

_MODELS: dict[tuple[str, str], RoutingModel] = {}
"""The models loaded in this process (a worker), by folder and catalogue fingerprint ("": the model's own)."""


def worker_model(model_path: str | None, catalogue: Catalogue | None = None) -> RoutingModel:
    """The model of folder ``model_path`` (``None``: the installed default) routing with ``catalogue`` (``None``:
    its own), loaded once per process."""
    own = (model_path or "", "")
    if own not in _MODELS:
        _MODELS[own] = load_model(model_path or default_model_path())
    if catalogue is None:
        return _MODELS[own]
    key = (own[0], catalogue.fingerprint)
    if key not in _MODELS:  # one copy per catalogue, so its term indexes are built once per worker
        _MODELS[key] = _MODELS[own].with_catalogue(catalogue)
    return _MODELS[key]


class ModelPlugin(WorkerPlugin):
    """Loads the model when a worker starts (and on every worker that joins later); the folder name and the
    catalogue (a few kilobytes) travel, never the model."""

    name = "complaint-router-model"

    def __init__(self, model_path: str | None, catalogue: Catalogue | None = None):
        self.model_path, self.catalogue = model_path, catalogue

    def setup(self, worker) -> None:
        worker_model(self.model_path, self.catalogue)


@dataclass
class ClusterSummary(RouteSummary):
    """``RouteSummary`` of a run on a cluster, with how the work was spread."""

    partitions: int = 0
    startup_seconds: float = 0.0
    """Of ``seconds``: starting or reaching the cluster and loading the model on the workers."""
    workers: dict[str, int] = field(default_factory=dict)
    """Rows routed per worker address."""

    @property
    def rows_per_second(self) -> float:
        """Rows routed per second once the workers were ready."""
        busy = self.seconds - self.startup_seconds
        return self.rows / busy if busy > 0 else 0.0


def read_partition(path: str, names: list[str], text_col: str, title_col: str | None, sheet) -> pd.DataFrame:
    """One file of a dataset as one partition, with ``READ_ERROR_COLUMN``; columns in the dataset's order."""
    table = open_table(path, text_col=text_col, title_col=title_col, sheet=sheet)
    frames, errors = [], []
    for chunk in table.chunks():
        frames.append(chunk.frame)
        errors.extend(chunk.errors)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names, dtype=object)
    frame = frame[names].astype(object)
    frame[READ_ERROR_COLUMN] = pd.Series(errors, dtype=object)
    return frame


def read_dataset(source: str | Path, *, text_col: str | None = None, title_col: str | None = None, sheet=None):
    """(a ``dask.dataframe`` of ``source`` with one partition per file, the opened ``Table``).

    The files are opened here first (formats, columns, same columns everywhere), so a bad file fails before any
    work is sent to the cluster.
    """
    import dask.dataframe as dd

    table = open_table(source, text_col=text_col, title_col=title_col, sheet=sheet)
    files = [str(f) for f in (table.partitions or [table.path])]
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in [*table.columns, READ_ERROR_COLUMN]})
    ddf = dd.from_map(read_partition, files, args=(list(table.columns), table.text_col, table.title_col, sheet),
                      meta=meta, label="read-table", enforce_metadata=False)  # fmt: skip
    return ddf, table


def route_partition(frame: pd.DataFrame, model_path: str | None, text_col: str, title_col: str | None,
                    catalogue: Catalogue | None = None) -> pd.DataFrame:  # fmt: skip
    """A partition routed with the worker's model: input columns then the routing columns, every cell text."""
    from classifier.io.parquet import as_text

    model = worker_model(model_path, catalogue)
    errors = frame[READ_ERROR_COLUMN].fillna("").astype(str).tolist() if READ_ERROR_COLUMN in frame else []
    frame = frame.drop(columns=[READ_ERROR_COLUMN], errors="ignore").reset_index(drop=True).astype(object)
    frame = frame.where(frame.notna(), "")
    texts = [t if isinstance(t, str) and not (errors and errors[i]) else None for i, t in enumerate(frame[text_col])]
    titles = frame[title_col].tolist() if title_col else [""] * len(frame)
    routed = route_rows(model, titles, texts)
    return as_text(output_frame(frame, routed, errors))


def route_dataframe(ddf, model_path: str | Path | None = None, *, text_col: str | None = None,
                    title_col: str | None = None, catalogue: Catalogue | None = None):  # fmt: skip
    """``ddf`` routed partition by partition: its columns followed by the routing columns, every cell text.

    ``model_path`` is a model folder that exists on every worker (``None``: the installed default model); the
    model is loaded once per worker process (register ``ModelPlugin`` to load it when workers start), never sent
    with the tasks. ``catalogue`` replaces the model's own department catalogue (it travels with the tasks). The text and title columns are found by their usual names unless given. A column
    ``READ_ERROR_COLUMN`` (from ``read_dataset``) marks rows that could not be read: they become error rows.
    """
    model_path = str(model_path) if model_path is not None else None
    columns = [c for c in ddf.columns if c != READ_ERROR_COLUMN]
    text = find_column(columns, text_col, TEXT_COLUMNS, "text")
    if text is None:
        expected = ", ".join(TEXT_COLUMNS[:5])
        raise InputError(tr(f"数据中没有文本列：应有名为 {expected} … 的列或用 text_col 指定；实际列为 {columns[:20]}。",
                            f"No text column in the dataframe: expected one named {expected} … or "
                            f"given as text_col; found {columns[:20]}."))  # fmt: skip
    title = find_column(columns, title_col, [c for c in TITLE_COLUMNS if c.lower() != text.lower()], "title")
    title = None if title == text else title
    labels = worker_model(model_path).labels
    empty = pd.DataFrame(columns=columns, dtype=object)
    meta = output_frame(empty, pd.DataFrame(columns=output_columns(labels), dtype=object)).astype(object)
    return ddf.map_partitions(route_partition, model_path, text, title, catalogue, meta=meta, enforce_metadata=False)


def write_partition(frame: pd.DataFrame, folder: str, partition_info=None) -> pd.DataFrame:
    """Write a routed partition as ``part-NNNNN.parquet`` of ``folder`` (atomically: a retried task replaces it)
    and say which worker did it and what it held."""
    number = partition_info["number"] if partition_info else 0
    path = Path(folder) / part_name(number)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    write_parquet(frame, temp)
    os.replace(temp, path)
    stats = {"partition": number, "worker": _worker_address(), "rows": len(frame),
             "routed": int(frame["route_status"].eq("ok").sum()),
             "needs_review": int(frame["needs_review"].astype(str).eq("True").sum())}  # fmt: skip
    return pd.DataFrame([stats]).astype(STATS)


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # run outside a cluster (dask's local schedulers)
        return "local"


def connect(address: str = "local", workers: int | None = None):
    """(client, cluster): a new ``LocalCluster`` of ``workers`` processes (default: the machine's cores) for
    ``local``, else a client of the scheduler at ``address`` (cluster ``None``)."""
    from distributed import Client, LocalCluster

    if address == "local":
        import dask

        with dask.config.set(LOCAL_WORKER_CONFIG):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)  # fmt: skip
        return Client(cluster), cluster
    try:
        return Client(address, timeout="20s"), None
    except OSError as error:
        raise InputError(tr(f"无法连接 Dask 调度器 {address}：{error}；应为 dask-scheduler 打印的地址，如 tcp://10.0.0.5:8786。",
                            f"Cannot reach the Dask scheduler at {address}: {error}; expected the address that "
                            "dask-scheduler prints, such as tcp://10.0.0.5:8786.")) from None  # fmt: skip


def route_dataset(
    source: str | Path,
    output: str | Path,
    model_path: str | Path | None = None,
    *,
    address: str = "local",
    workers: int | None = None,
    text_col: str | None = None,
    title_col: str | None = None,
    sheet=None,
    client=None,
    catalogue: Catalogue | None = None,
) -> ClusterSummary:
    """Route every row of the dataset (or file) ``source`` on a Dask cluster into the Parquet dataset ``output``.

    ``address``: ``local`` (a ``LocalCluster`` of ``workers`` processes) or a scheduler such as
    ``tcp://10.0.0.5:8786``; ``client``: an existing ``distributed.Client`` to use instead; ``catalogue``: a
    department catalogue replacing the model's own. The input and output
    must be on storage every worker sees. Raises ``InputError``/``ModelError`` before any work when the input,
    output or model is unusable; on failure nothing is written.
    """
    start = time.perf_counter()
    output = Path(output)
    if not is_dataset_output(output):
        raise InputError(tr(f"输出 {output.name} 带有扩展名：使用 --dask 时应为文件夹名（不带扩展名），用于存放 Parquet 数据集。",
                            f"Output {output.name} has an extension: with --dask, expected a folder name "
                            "(no extension) for the Parquet dataset."))  # fmt: skip
    ddf, table = read_dataset(source, text_col=text_col, title_col=title_col, sheet=sheet)
    check_output_path(output)
    model_path = str(Path(model_path).resolve()) if model_path is not None else None
    model = worker_model(model_path)  # fails here, before the cluster starts, when the folder is unusable
    routed = route_dataframe(ddf, model_path, text_col=table.text_col, title_col=table.title_col, catalogue=catalogue)
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(address, workers)
    try:
        with replacing_folder(output) as temp:
            client.register_plugin(ModelPlugin(model_path, catalogue))
            ready = time.perf_counter()
            stats = client.compute(routed.map_partitions(write_partition, str(temp), meta=stats_meta())).result()
            for leftover in temp.iterdir():  # a partial file of a worker that died while writing
                if not PART_NAME.fullmatch(leftover.name):
                    leftover.unlink()
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    per_worker = Counter()
    for worker, rows in zip(stats["worker"], stats["rows"]):
        per_worker[worker] += int(rows)
    rows = int(stats["rows"].sum())
    return ClusterSummary(
        output=output, rows=rows, routed=int(stats["routed"].sum()), errors=rows - int(stats["routed"].sum()),
        needs_review=int(stats["needs_review"].sum()), seconds=round(time.perf_counter() - start, 3),
        model_version=model.version, partitions=len(stats), startup_seconds=round(ready - start, 3), workers=dict(sorted(per_worker.items())),
        source=table.describe(), warnings=list(table.warnings),
    )  # fmt: skip


def stats_meta() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in STATS.items()})
