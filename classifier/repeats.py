"""Repeats at routing time: is a new message a near-duplicate of a case already dispatched?

``RepeatIndex`` holds the past messages (a history file with their department) as MinHash band keys and shingle
sets, with ids and departments. ``match(texts)`` gives, per new text, the id and department of the most similar
past message whose similarity reaches the threshold (the same exact similarity as ``dedup``), else empty values.

The index is saved in a folder next to the history file (``<history>.repeat-index/``: ``index.npz`` with the band
table, ids and departments, ``shingles.npy`` with the shingle sets, memory-mapped when loaded, and ``meta.json``
with the parameters, the history file's size, modification time and SHA-256, and the SHA-256 of the two array
files) and reloaded while the history file is unchanged; a changed history (or a damaged index) is indexed again.
NumPy arrays and JSON only: nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.artifact import sha256_file
from classifier.errors import InputError, MissingFileError
from classifier.i18n import tr
from classifier.io.columns import DEPARTMENT_COLUMNS, ID_COLUMNS, STATUS_COLUMNS
from classifier.io.writers import replacing_folder
from classifier.message_table import CLOSED_STATUSES, column, open_messages, read_chunks
from classifier.minhash import THRESHOLD, BandTable, MinHashParams, Signer, candidates, similarity, text_shingles

FORMAT_VERSION = 1
INDEX_SUFFIX = ".repeat-index"
REPEAT_COLUMNS = ("repeat_of", "repeat_department")
_FILES = ("index.npz", "shingles.npy")


def index_folder(history: str | Path) -> Path:
    """Where the index of ``history`` is kept."""
    history = Path(history)
    return history.with_name(history.name + INDEX_SUFFIX)


def _fingerprint(path: Path, sha256: str) -> dict:
    stat = path.stat()
    return {"name": path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


@dataclass
class IndexStatus:
    """How ``RepeatIndex.for_history`` got its index: ``loaded``, ``built`` or ``rebuilt`` (and why)."""

    action: str
    folder: Path
    rows: int
    note: str = ""


class RepeatIndex:
    """Past messages, searchable by near-duplicate text."""

    def __init__(self, *, params: MinHashParams, band_keys: np.ndarray, band_rows: np.ndarray, shingles: np.ndarray,
                 offsets: np.ndarray, ids: list[str], departments: list[str], source: dict | None = None):  # fmt: skip
        self.params = params
        self.threshold = THRESHOLD
        self.table = BandTable(band_keys, band_rows)
        self.shingles = shingles
        self.offsets = offsets
        self.ids = ids
        self.departments = departments
        self.source = source or {}
        self._signer = Signer(params)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, history: str | Path, *, text_col: str | None = None, id_col: str | None = None,
              department_col: str | None = None, params: MinHashParams = MinHashParams(),
              chunk_size: int = 5000) -> RepeatIndex:  # fmt: skip
        """Index every open case of ``history``: rows with a text, except those whose status column (``status``,
        ``办理状态`` …, when there is one) says the case is closed (``已办结``, ``closed`` …)."""
        history = Path(history)
        sha256 = sha256_file(history) if history.is_file() else None
        table = open_messages(history, text_col=text_col)
        id_name = column(table, ID_COLUMNS, id_col, "id")
        department_name = column(table, DEPARTMENT_COLUMNS, department_col, "department")
        if department_name is None:
            expected, found = ", ".join(DEPARTMENT_COLUMNS[:4]), ", ".join(table.columns[:12])
            raise InputError(tr(
                f"历史留言文件 {history.name} 中没有部门列：应有名为 {expected} … 的列；实际列为 {found}。",
                f"No department column in history file {history.name}: expected one named {expected} …; found {found}.",
            ))
        status_name = column(table, STATUS_COLUMNS)
        signer = Signer(params)
        band = BandTable()
        sets, ids, departments = [], [], []
        for chunk in read_chunks(table, chunk_size):
            chunk_sets = text_shingles(chunk.texts, params.shingle)
            closed = chunk.frame[status_name].str.strip().str.lower().isin(CLOSED_STATUSES).tolist() if status_name \
                else [False] * len(chunk_sets)  # fmt: skip
            keep = [i for i, s in enumerate(chunk_sets) if len(s) and not closed[i]]
            if not keep:
                continue
            first = len(ids)
            numbers = range(chunk.first_row + 1, chunk.first_row + len(chunk.texts) + 1)
            chunk_ids = chunk.frame[id_name].tolist() if id_name else [str(n) for n in numbers]
            ids.extend(chunk_ids[i] for i in keep)
            departments.extend(chunk.frame[department_name].iloc[keep].tolist())
            sets.extend(chunk_sets[i] for i in keep)
            chunk_keys = signer.band_keys(signer.signatures([chunk_sets[i] for i in keep]))
            band.add(chunk_keys, np.repeat(np.arange(first, first + len(keep)), chunk_keys.shape[1]))
        band_keys, band_rows = band.arrays()
        lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        shingles = np.concatenate(sets) if sets else np.empty(0, np.uint32)
        source = _fingerprint(history, sha256) if sha256 else {}
        source["columns"] = {"text": table.text_col, "id": id_name, "department": department_name, "status": status_name}
        return cls(params=params, band_keys=band_keys, band_rows=band_rows, shingles=shingles, offsets=offsets,
                   ids=ids, departments=departments, source=source)  # fmt: skip

    def _set(self, row: int) -> np.ndarray:
        return self.shingles[self.offsets[row] : self.offsets[row + 1]]

    def match(self, texts: list[str]) -> tuple[list[str], list[str], list[float | None]]:
        """Per text: (id of the past message it repeats or "", its department or "", similarity or None)."""
        n = len(texts)
        repeat_of, department, score = [""] * n, [""] * n, [None] * n
        sets = text_shingles(texts, self.params.shingle)
        filled = [i for i, s in enumerate(sets) if len(s)]
        if not filled or not len(self):
            return repeat_of, department, score
        found = self.table.lookup(self._signer.band_keys(self._signer.signatures([sets[i] for i in filled])))
        for i, hits in zip(filled, found):
            best, best_row = 0.0, -1
            for row in candidates(hits):
                value = similarity(sets[i], self._set(row))
                if value > best:
                    best, best_row = value, row
            if best_row >= 0 and best >= self.threshold:
                repeat_of[i], department[i], score[i] = self.ids[best_row], self.departments[best_row], round(best, 3)
        return repeat_of, department, score

    def save(self, folder: str | Path) -> Path:
        """Write ``index.npz``, ``shingles.npy`` and ``meta.json`` as the folder ``folder`` (built beside it and
        moved into place, replacing the folder there: a reader never sees a half-written index)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        keys, rows = self.table.arrays()
        arrays = {"band_keys": keys, "band_rows": rows, "offsets": self.offsets,
                  "ids": np.array(self.ids, dtype=str), "departments": np.array(self.departments, dtype=str)}  # fmt: skip
        with replacing_folder(folder) as staging:
            np.savez_compressed(staging / "index.npz", **arrays)
            np.save(staging / "shingles.npy", np.asarray(self.shingles, dtype=np.uint32))
            meta = {"format_version": FORMAT_VERSION, "params": self.params.as_dict(), "rows": len(self),
                    "source": self.source, "files": {name: sha256_file(staging / name) for name in _FILES}}  # fmt: skip
            (staging / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RepeatIndex:
        """Read a saved index (shingles memory-mapped); ``InputError`` when missing, of another format or damaged."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(tr(f"{folder} 中没有可用的历史留言索引：{error}",
                                f"No usable repeat index in {folder}: {error}")) from None
        if meta.get("format_version") != FORMAT_VERSION:
            found = meta.get("format_version")
            raise InputError(tr(f"历史留言索引 {folder} 的格式为 {found}，应为 {FORMAT_VERSION}。",
                                f"Repeat index {folder} has format {found}: expected {FORMAT_VERSION}."))
        for name in _FILES:
            if not (folder / name).is_file() or sha256_file(folder / name) != meta.get("files", {}).get(name):
                raise InputError(tr(f"历史留言索引 {folder} 已损坏：{name} 与 meta.json 不符。",
                                    f"Repeat index {folder} is damaged: {name} does not match meta.json."))
        with np.load(folder / "index.npz", allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        shingles = np.load(folder / "shingles.npy", mmap_mode="r", allow_pickle=False)
        return cls(params=MinHashParams(**meta["params"]), band_keys=arrays["band_keys"],
                   band_rows=arrays["band_rows"], shingles=shingles, offsets=arrays["offsets"],
                   ids=arrays["ids"].tolist(), departments=arrays["departments"].tolist(),
                   source=meta["source"])  # fmt: skip

    @classmethod
    def for_history(cls, history: str | Path, *, text_col: str | None = None, id_col: str | None = None,
                    department_col: str | None = None) -> tuple[RepeatIndex, IndexStatus]:  # fmt: skip
        """The index of ``history``: reloaded when saved for this very file, otherwise built and saved.

        The file counts as unchanged when its size and modification time are those recorded, or, when only the
        time differs, its SHA-256 is. An index that cannot be saved (read-only folder) is used from memory.
        """
        history = Path(history)
        if not history.is_file():
            raise MissingFileError(tr(f"找不到历史留言文件：{history}", f"History file not found: {history}"))
        folder = index_folder(history)
        action, note = "built", ""
        if (folder / "meta.json").exists():
            try:
                index = cls.load(folder)
                wanted = {"text": text_col, "id": id_col, "department": department_col}
                used = index.source.get("columns", {})
                same_columns = all(v is None or used.get(k) == v for k, v in wanted.items())
                if index.params == MinHashParams() and same_columns and _unchanged(history, index.source):
                    return index, IndexStatus("loaded", folder, len(index))
                action, note = "rebuilt", (tr("历史留言文件已变化", "history file changed") if same_columns
                                           else tr("指定了其他列", "other columns asked for"))  # fmt: skip
            except InputError as error:
                action, note = "rebuilt", str(error)
        index = cls.build(history, text_col=text_col, id_col=id_col, department_col=department_col)
        try:
            index.save(folder)
        except OSError as error:
            unsaved = tr(f"未保存：{error.strerror or error}", f"not saved: {error.strerror or error}")
            note = tr("；", "; ").join(filter(None, (note, unsaved)))
        return index, IndexStatus(action, folder, len(index), note)


def _unchanged(history: Path, source: dict) -> bool:
    stat = history.stat()
    if stat.st_size != source.get("size"):
        return False
    return stat.st_mtime_ns == source.get("mtime_ns") or sha256_file(history) == source.get("sha256")

