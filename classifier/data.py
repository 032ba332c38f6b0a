"""Bundled data sets and the one message schema they are read into.

Every loader returns a DataFrame with the schema columns ``id, channel, title, text, time`` followed by
whatever label columns the file has (``topic``, ``screening``, ``department``, ``urgent`` …), all strings,
empty string for a missing value.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import pandas as pd

from classifier.errors import InputError, MissingFileError
from classifier.i18n import tr
from classifier.io import read_table
from classifier.io.columns import show
from classifier.text import normalize

SCHEMA = ("id", "channel", "title", "text", "time")
STANDARD_HEADS = ("topic", "screening", "department", "urgent")
DEFAULT_CHANNEL = "message_board"

DATA_DIR = Path(os.environ.get("COMPLAINT_ROUTER_DATA") or str(resources.files("classifier.bundled_data")))
"""``$COMPLAINT_ROUTER_DATA``, else the data installed inside the package (the repository's ``data/``)."""
BUNDLED = {
    "topic": "messages_topic.csv.gz",
    "titles": "titles_topic.csv.gz",
    "unlabelled": "messages_unlabelled.csv.gz",
    "routing": "messages_routing.csv.gz",
    "replies": "reply_quality_sample.csv",
    "hierarchy": "topic_hierarchy.csv",
    "sample": "sample_messages.csv",
}
CATALOGUE_FILE = "departments.json"


def bundled_path(name: str) -> Path:
    """Path of a bundled data set by short name (see ``BUNDLED``)."""
    if name not in BUNDLED:
        raise ValueError(f"Unknown bundled data set {name!r}; expected one of {', '.join(BUNDLED)}.")
    path = DATA_DIR / BUNDLED[name]
    if not path.exists():
        raise MissingFileError(tr(f"缺少自带数据文件：{path}（请把 COMPLAINT_ROUTER_DATA 设为数据文件夹，或重新安装）。",
                                  f"Bundled data file missing: {path} (set COMPLAINT_ROUTER_DATA to the data folder, or reinstall)."))
    return path


def catalogue_path() -> Path:
    return DATA_DIR / CATALOGUE_FILE


def to_schema(frame: pd.DataFrame, *, text_col: str, title_col: str | None, source: str) -> pd.DataFrame:
    """Rename a raw table into the message schema; other columns are kept after it."""
    out = pd.DataFrame(index=frame.index)
    out["id"] = frame["id"] if "id" in frame else [f"{source}-{i}" for i in range(len(frame))]
    out["channel"] = frame["channel"] if "channel" in frame else DEFAULT_CHANNEL
    out["title"] = frame[title_col] if title_col else ""
    out["text"] = frame[text_col]
    out["time"] = frame["time"] if "time" in frame else ""
    used = {"id", "channel", "time", text_col, title_col}
    for column in frame.columns:
        if column not in used and column not in out:
            out[column] = frame[column]
    return out.fillna("").astype(str).reset_index(drop=True)


def load_messages(path: str | Path, *, text_col: str | None = None, title_col: str | None = None) -> pd.DataFrame:
    """Read any supported table (bundled or a user's) into the message schema."""
    frame, table = read_table(path, text_col=text_col, title_col=title_col)  # a row that cannot be read fails it
    out = to_schema(frame, text_col=table.text_col, title_col=table.title_col, source=Path(path).stem)
    out.attrs.update(source_name=Path(path).name, source_columns=list(table.columns))
    return out


def source_columns(frame: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The file name and the file's own column names of a table read by ``load_messages`` (for messages to the
    user: the schema renames the text and title columns); ``(None, its columns)`` for any other table."""
    return frame.attrs.get("source_name"), list(frame.attrs.get("source_columns", frame.columns))


def no_label_columns(frame: pd.DataFrame, heads: list[str]) -> InputError:
    """The error for a table with none of a model's label columns ``heads``, naming the file and its columns."""
    name, columns = source_columns(frame)
    return InputError(tr(
        f"{name or '数据'} 中没有模型的任何标签列：应至少有一列名为 {heads} 之一（标注列名须与之相同）；"
        f"文件的列为 {show(columns)}。",
        f"{name or 'The data'} has none of the model's label columns: expected at least one column named one of "
        f"{heads}; found columns {show(columns)}.",
    ))  # fmt: skip


def load_bundled(name: str) -> pd.DataFrame:
    """A bundled data set in the message schema (``titles`` has the title also as its text)."""
    path = bundled_path(name)
    if name == "titles":
        frame, _ = read_table(path, text_col="title", title_col="title")
        return to_schema(frame.assign(text=""), text_col="text", title_col="title", source="title")
    if name == "hierarchy":
        return read_table(path, text_col="level1")[0]
    return load_messages(path)


def training_frame() -> pd.DataFrame:
    """All bundled labelled messages as one table, one row per message, with every label it has.

    Routing annotations (screening, department, urgent, topic for some) come first; topic-labelled messages
    not annotated for routing and topic-labelled titles follow with only their topic.
    """
    routing = load_bundled("routing").drop(columns=["confidence"])
    topic = load_bundled("topic")
    by_id = topic.set_index("id")["topic"]
    missing_topic = routing["topic"].eq("") & routing["id"].isin(by_id.index)
    routing.loc[missing_topic, "topic"] = routing.loc[missing_topic, "id"].map(by_id)
    extra = topic[~topic["id"].isin(routing["id"])]
    frame = pd.concat([routing, extra, load_bundled("titles")], ignore_index=True)
    return frame.fillna("").astype(str)


def unlabelled_texts() -> pd.DataFrame:
    """Unlabelled messages (title + text) used to fit the vocabulary alongside the labelled ones."""
    return load_bundled("unlabelled")[list(SCHEMA)]


def message_docs(frame: pd.DataFrame) -> list[str]:
    """Normalised ``title + text`` of every message, as the models see them."""
    return [normalize(f"{title} {text}") for title, text in zip(frame["title"], frame["text"])]


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's content, to record which data a model was trained on."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode("utf-8"))
    for values in frame.astype(str).itertuples(index=False, name=None):
        digest.update("\x1e".join(values).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
