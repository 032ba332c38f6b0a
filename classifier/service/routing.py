"""The loaded model and the routing of requests: concurrent requests coalesced into one ``route_rows`` call.

Routing one message costs a fixed amount of pandas work per call (most of it in ``router.decide``), whatever the
number of rows; routing the messages of all waiting requests together shares it. One routing thread takes every
request that arrived while the previous batch was routed (up to ``batch_messages`` messages), so a lone request
is routed at once and concurrent ones wait at most one batch. The event loop keeps accepting requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.artifact import RoutingModel, load_model
from classifier.catalogue import Catalogue
from classifier.privacy import mask_text
from classifier.router import NO_DEPARTMENT, route_rows


@dataclass
class ModelSlot:
    """The model in service; replaced as a whole (one reference), so a batch routes with one model throughout."""

    path: Path
    model: RoutingModel | None = None
    catalogue: Path | None = None
    """A department catalogue file replacing the model's own; read again at every load."""

    def load(self, path: Path | None = None) -> RoutingModel:
        """Load ``path`` (default: the current folder, read again), checksums verified, with the catalogue file
        (read again), and put it in service.

        Raises ``ModelError``/``InputError``/``FileNotFoundError`` with the old model still in service.
        """
        path = Path(path) if path is not None else self.path
        catalogue = Catalogue.load(self.catalogue) if self.catalogue is not None else None
        model = load_model(path).with_catalogue(catalogue)
        note = catalogue.mismatch_note(model.labels.get("department", []), ignore=[NO_DEPARTMENT]) if catalogue else None
        if note:
            logging.getLogger("complaint_router.service").warning("%s", note)
        route_rows(model, ["预热"], ["加载分词词典，第一个请求不必等待。"])  # warm up before it serves
        self.path, self.model = path, model
        return model


@dataclass
class _Job:
    messages: list[dict]
    future: asyncio.Future


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def records(frame) -> list[dict]:
    """``route_rows`` output as JSON-ready dicts: NumPy scalars to Python, empty cells of error rows to None."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    names = list(columns)
    out = []
    for values in zip(*columns.values()):
        out.append(
            {
                n: (None if v == "" and n not in ("route_status", "model_version") else _plain(v))
                for n, v in zip(names, values)
            }
        )
    return out


def mask_fields(record: dict, counts: Counter) -> None:
    """Mask personal data in a record's ``title`` and ``text`` in place, counting per kind."""
    for name in ("title", "text"):
        value = record.get(name)
        if isinstance(value, str) and value:
            record[name], found = mask_text(value)
            counts.update(found)


class BatchRouter:
    """Routes lists of messages with the model in ``slot``, coalescing concurrent calls (see the module docstring)."""

    def __init__(
        self,
        slot: ModelSlot,
        *,
        batch_messages: int,
        mask_pii: bool,
        on_batch: Callable[[int], None] = lambda size: None,
    ):
        self.slot = slot
        self.on_batch = on_batch
        self.batch_messages = batch_messages
        self.mask_pii = mask_pii
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="routing")
        self._pending: list[_Job] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def route(self, messages: list[dict]) -> tuple[list[dict], Counter]:
        """Each message (``id``, ``title``, ``text``, ``time``, ``channel``) followed by its routing columns, in order
        and JSON-ready, with ``title``/``text`` masked when the router masks; and the masked pieces per kind."""
        job = _Job(messages, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        self._wake.set()
        return await job.future

    async def run(self, function, *args):
        """Run other CPU work (``predict``) on the routing thread, in turn with the batches."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, size = [], 0
                while self._pending and (not batch or size + len(self._pending[0].messages) <= self.batch_messages):
                    job = self._pending.pop(0)
                    batch.append(job)
                    size += len(job.messages)
                self.on_batch(size)
                try:
                    results = await loop.run_in_executor(
                        self.executor, self._route, self.slot.model, batch, self.mask_pii
                    )
                except Exception as error:  # a bug: every request of the batch gets it (answered 500)
                    for job in batch:
                        if not job.future.done():
                            job.future.set_exception(error)
                    continue
                for job, result in zip(batch, results):
                    if not job.future.done():  # the client may have gone
                        job.future.set_result(result)

    @staticmethod
    def _route(model: RoutingModel, batch: list[_Job], mask_pii: bool) -> list[tuple[list[dict], Counter]]:
        messages = [m for job in batch for m in job.messages]
        routed = records(route_rows(model, [m["title"] for m in messages], [m["text"] for m in messages]))
        out, start = [], 0
        for job in batch:
            counts: Counter = Counter()
            rows = [{**m, **r} for m, r in zip(job.messages, routed[start : start + len(job.messages)])]
            if mask_pii:
                for row in rows:
                    mask_fields(row, counts)
            out.append((rows, counts))
            start += len(job.messages)
        return out
