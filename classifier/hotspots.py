"""Hot issues: messages about the same problem at the same place within a time window, grouped and ranked.

Each message gets a place (``places.message_place``) and a TF-IDF vector of its jieba words (title twice, then
text). The similarity of two messages is the cosine of their vectors, raised by ``PLACE_BONUS`` when they name the
same site and halved when they name different sites or different districts. Messages are taken in time order; a
message joins the open cluster with the highest average similarity to all its members (average linkage, so that
one shared phrase does not chain unrelated complaints together) when that average reaches ``JOIN`` and the
cluster's latest message is at most one window older; otherwise it starts a cluster. A cluster thus stays open
while its problem keeps coming back within the window. Messages whose time is missing or unparseable are placed
last, without the window test; without a time column there is no window at all.

A message whose words route cannot read (HTML/CSS remnants, only digits or symbols: ``router.check_text`` on its
text, or on its title when it has no text) is clustered like an empty one: alone, without place or key terms.

Key terms per cluster: class-based TF-IDF over jieba words (a word's share of the cluster's words times
``log(1 + average words per cluster / the word's count in all clusters)``).

Heat (see README): ``(10·writers + 2·(messages − writers) + 2·Σ √(likes + dislikes)) / (1 + log2(1 + span_days/30))``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.errors import ConfigError
from classifier.i18n import tr
from classifier.io import TableWriter, check_output_path
from classifier.io.columns import DISLIKES_COLUMNS, ID_COLUMNS, LIKES_COLUMNS, TIME_COLUMNS, USER_COLUMNS
from classifier.message_table import (
    NO_TIME, column, format_time, open_messages, parse_times, read_chunks, references,
)  # fmt: skip
from classifier.places import ADMIN, Place, message_place, place_keys
from classifier.router import check_text

HOTSPOT_COLUMNS = ("cluster_id", "place", "keywords", "first_time", "last_time", "size", "writers", "heat",
                   "member_ids")  # fmt: skip
JOIN = 0.3
"""Average similarity to a cluster's members needed to join it (chosen by reading clusters of the bundled data)."""
PLACE_BONUS = 0.15
LINK_MIN = 0.05
KEYWORDS = 5
_DAY_NS = 86_400 * 10**9


@dataclass
class Messages:
    """What clustering needs of each message, in input order."""

    refs: list[str]
    titles: list[str]
    texts: list[str]
    times: np.ndarray
    writers: list[str]
    likes: np.ndarray
    dislikes: np.ndarray


@dataclass
class HotspotSummary:
    output: Path
    rows: int
    clusters: int
    multi: int
    """Clusters of two or more messages."""
    window_days: float | None
    time_column: str | None
    unparseable_times: int
    empty_texts: int
    unreadable_texts: int
    """Messages with words but none readable (see ``unreadable``): each a cluster of its own."""
    report: Path | None
    seconds: float
    warnings: list[str] = field(default_factory=list)


def parse_window(value: str | None) -> float | None:
    """Days in ``30d``, ``2w``, ``12h`` or a plain number of days; None for ``none``/``0``/empty (no window)."""
    if value is None or value.strip().lower() in ("", "none", "0", "0d"):
        return None
    text = value.strip().lower()
    units = {"d": 1.0, "w": 7.0, "h": 1 / 24, "m": 30.0}
    try:
        days = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except ValueError:
        raise ConfigError(tr(f"无法识别时间窗口 {value!r}：应为时长，如 30d、2w 或 12h。",
                             f"Unreadable window {value!r}: expected a duration such as 30d, 2w or 12h.")) from None
    if days <= 0 or math.isnan(days):
        raise ConfigError(tr(f"时间窗口 {value!r} 不是正数：应为时长（如 30d）或 none。",
                             f"Window {value!r} is not positive: expected a duration such as 30d, or none."))
    return days


def unreadable(title: str, text: str) -> bool:
    """True when a message has words but route would read none of them: ``router.check_text`` fails on its text
    (on its title when the text is empty), e.g. only HTML/CSS remnants, digits or symbols."""
    content = text if text.strip() else title
    return bool(content.strip()) and check_text(title, content) is not None


def _tokens(title: str, text: str) -> list[str]:
    from classifier.text import normalize, tokenize

    words = tokenize(normalize(f"{title} {title} {text}"))
    return [w for w in words if len(w) >= 2 and not w.isdigit() and not ADMIN.fullmatch(w.upper())]


def _similarities(tokens: list[list[str]], places: list[Place]):
    """Sparse matrix of the adjusted similarities of message pairs (at least ``LINK_MIN``), without the diagonal."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(tokens)
    if not any(tokens):
        return sparse.csr_matrix((n, n))
    vectors = TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True).fit_transform(tokens)
    rows, cols, values = [], [], []
    for first in range(0, n, 2000):
        block = (vectors[first : first + 2000] @ vectors.T).tocoo()
        keep = (block.data >= LINK_MIN) & (block.row + first != block.col)
        rows.append(block.row[keep] + first)
        cols.append(block.col[keep])
        values.append(block.data[keep])
    rows, cols, values = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    keys = place_keys(places)
    for k, (i, j) in enumerate(zip(rows.tolist(), cols.tolist())):
        a, b = places[i], places[j]
        if keys[i] and keys[j]:
            values[k] = values[k] + PLACE_BONUS if keys[i] & keys[j] else values[k] * 0.5
        elif a.admin and b.admin and a.admin != b.admin and not (a.admin.endswith("市") or b.admin.endswith("市")):
            values[k] *= 0.5
    return sparse.csr_matrix((values, (rows, cols)), shape=(n, n))


def cluster(messages: Messages, *, window_days: float | None, places: list[Place],
            tokens: list[list[str]]):  # fmt: skip
    """Cluster number of every message (see the module docstring), and the similarity matrix used."""
    n = len(messages.refs)
    similar = _similarities(tokens, places)
    order = np.lexsort((np.arange(n), messages.times))
    window = None if window_days is None else int(window_days * _DAY_NS)
    assigned = np.full(n, -1, dtype=np.int64)
    sizes: list[int] = []
    latest: list[int] = []
    for i in order.tolist():
        start, end = similar.indptr[i], similar.indptr[i + 1]
        scores: dict[int, float] = {}
        for j, value in zip(similar.indices[start:end].tolist(), similar.data[start:end].tolist()):
            if assigned[j] >= 0:
                scores[int(assigned[j])] = scores.get(int(assigned[j]), 0.0) + value
        t = int(messages.times[i])
        best, best_score = -1, JOIN
        for c, total in scores.items():
            if window is not None and t != NO_TIME and latest[c] != NO_TIME and t - latest[c] > window:
                continue
            if total / sizes[c] >= best_score:
                best, best_score = c, total / sizes[c]
        if best < 0:
            best = len(sizes)
            sizes.append(0)
            latest.append(NO_TIME)
        assigned[i] = best
        sizes[best] += 1
        if t != NO_TIME:
            latest[best] = t if latest[best] == NO_TIME else max(latest[best], t)
    return assigned, similar


def keywords(tokens: list[list[str]], labels: np.ndarray, top: int = KEYWORDS) -> dict[int, list[str]]:
    """Class-based TF-IDF: the ``top`` words that set each cluster apart."""
    per_cluster: dict[int, Counter] = {}
    for words, label in zip(tokens, labels.tolist()):
        per_cluster.setdefault(label, Counter()).update(words)
    overall = Counter()
    for counts in per_cluster.values():
        overall.update(counts)
    average = sum(overall.values()) / max(len(per_cluster), 1)
    out = {}
    for label, counts in per_cluster.items():
        total = sum(counts.values()) or 1
        weight = {w: c / total * math.log(1 + average / overall[w]) for w, c in counts.items()}
        out[label] = sorted(weight, key=lambda w: (-weight[w], w))[:top]
    return out


def heat(writers: int, size: int, support: np.ndarray, span_days: float | None) -> float:
    """``(10·writers + 2·(size − writers) + 2·Σ√(likes + dislikes)) / (1 + log2(1 + span_days/30))``."""
    raw = 10.0 * writers + 2.0 * (size - writers) + 2.0 * float(np.sqrt(np.maximum(support, 0)).sum())
    return raw / (1.0 + math.log2(1.0 + span_days / 30.0)) if span_days is not None else raw


def _cluster_place(places: list[Place]) -> str:
    with_site = Counter(p.site for p in places if p.site)
    if with_site:
        site = with_site.most_common(1)[0][0]
        admins = Counter(p.admin for p in places if p.site == site and p.admin)
        return " ".join(x for x in (admins.most_common(1)[0][0] if admins else "", site) if x)
    admins = Counter(p.admin for p in places if p.admin)
    return admins.most_common(1)[0][0] if admins else ""


def find_hotspots(messages: Messages, *, readable: list[bool], window_days: float | None = 30.0,
                  ner: bool = False) -> pd.DataFrame:  # fmt: skip
    """One row per cluster with ``HOTSPOT_COLUMNS`` plus ``summary`` and ``members`` (row numbers), by heat.

    ``readable`` says, per message, that it is not ``unreadable``; a message that is unreadable is taken as empty:
    it has no place or words and joins no cluster."""
    titles = [t if ok else "" for t, ok in zip(messages.titles, readable)]
    texts = [x if ok else "" for x, ok in zip(messages.texts, readable)]
    if ner:
        from classifier.places import LacEntities

        entities = LacEntities()
        places = [message_place(t, x, entities(t, x)) for t, x in zip(titles, texts)]
    else:
        places = [message_place(t, x) for t, x in zip(titles, texts)]
    tokens = [_tokens(t, x) for t, x in zip(titles, texts)]
    labels, similar = cluster(messages, window_days=window_days, places=places, tokens=tokens)
    terms = keywords(tokens, labels)
    rows = []
    members_of: dict[int, list[int]] = {}
    for i, label in enumerate(labels.tolist()):
        members_of.setdefault(label, []).append(i)
    for label, members in members_of.items():
        times = messages.times[members]
        known = times[times != NO_TIME]
        first, last = (int(known.min()), int(known.max())) if len(known) else (NO_TIME, NO_TIME)
        span = (last - first) / _DAY_NS if len(known) else None
        writers = len({messages.writers[m] or f"\0{m}" for m in members})
        support = messages.likes[members] + messages.dislikes[members]
        closeness = np.asarray(similar[members][:, members].sum(axis=1)).ravel()
        central = [members[k] for k in np.argsort(-closeness, kind="stable")]  # the one most like the others first
        summary = next((titles[m] for m in central if titles[m].strip()), "")
        rows.append({
            "place": _cluster_place([places[m] for m in members]),
            "keywords": " ".join(terms[label]),
            "first_time": format_time(first), "last_time": format_time(last),
            "size": len(members), "writers": writers,
            "heat": round(heat(writers, len(members), support, span), 2),
            "member_ids": "|".join(messages.refs[m] for m in members),
            "summary": summary or texts[central[0]][:40], "members": members, "_first": members[0],
        })  # fmt: skip
    frame = pd.DataFrame(rows, columns=[*HOTSPOT_COLUMNS[1:], "summary", "members", "_first"])
    frame = frame.sort_values(["heat", "size", "_first"], ascending=[False, False, True]).reset_index(drop=True)
    frame.insert(0, "cluster_id", [f"H{i + 1}" for i in range(len(frame))])
    return frame.drop(columns="_first")


def read_messages(path: str | Path, *, text_col: str | None = None, title_col: str | None = None,
                  time_col: str | None = None) -> tuple[Messages, dict]:  # fmt: skip
    """All rows of a table as ``Messages`` (nothing dropped), and what was found about its columns."""
    table = open_messages(path, text_col=text_col, title_col=title_col)
    names = {
        "id": column(table, ID_COLUMNS, None, "id"), "time": column(table, TIME_COLUMNS, time_col, "time"),
        "writer": column(table, USER_COLUMNS), "likes": column(table, LIKES_COLUMNS),
        "dislikes": column(table, DISLIKES_COLUMNS),
    }  # fmt: skip
    ids, titles, texts, times, writers, likes, dislikes = [], [], [], [], [], [], []
    unparseable = 0
    for chunk in read_chunks(table, 20_000):
        count = len(chunk.texts)
        frame = chunk.frame
        numbers = [str(n) for n in range(chunk.first_row + 1, chunk.first_row + count + 1)]
        ids.extend(frame[names["id"]].str.strip().tolist() if names["id"] else numbers)
        titles.extend(t if isinstance(t, str) else "" for t in chunk.titles)
        texts.extend(chunk.texts)
        if names["time"]:
            parsed = parse_times(frame[names["time"]])
            unparseable += int(((parsed == NO_TIME) & frame[names["time"]].str.strip().ne("").to_numpy()).sum())
            times.append(parsed)
        writers.extend(frame[names["writer"]].str.strip().tolist() if names["writer"] else [""] * count)
        for key, out in (("likes", likes), ("dislikes", dislikes)):
            values = pd.to_numeric(frame[names[key]], errors="coerce") if names[key] else pd.Series(0.0, frame.index)
            out.append(values.fillna(0).to_numpy(dtype=float))
    n = len(texts)
    messages = Messages(
        refs=references(ids), titles=titles, texts=texts,
        times=np.concatenate(times) if times else np.full(n, NO_TIME, dtype=np.int64), writers=writers,
        likes=np.concatenate(likes) if likes else np.zeros(0),
        dislikes=np.concatenate(dislikes) if dislikes else np.zeros(0),
    )  # fmt: skip
    return messages, {**names, "unparseable": unparseable}


def hotspots_file(
    input_path: str | Path,
    output_path: str | Path,
    *,
    window: str | None = "30d",
    report: str | Path | None = None,
    text_col: str | None = None,
    title_col: str | None = None,
    time_col: str | None = None,
    ner: bool = False,
    top: int = 10,
) -> HotspotSummary:
    """Cluster the messages of ``input_path`` and write the clusters (``HOTSPOT_COLUMNS``) to ``output_path``."""
    start = time.perf_counter()
    window_days = parse_window(window)
    check_output_path(output_path)
    messages, found = read_messages(input_path, text_col=text_col, title_col=title_col, time_col=time_col)
    notes = []
    if found["time"] is None:
        if window_days is not None:
            notes.append(tr("没有时间列：不按时间窗口聚类（first_time、last_time 为空）。",
                            "No time column: clustered without a time window (first_time, last_time empty)."))  # fmt: skip
        window_days = None
    if found["unparseable"]:
        notes.append(tr(f"{found['unparseable']} 条留言的时间无法解析：已保留，聚类时不受时间窗口限制。",
                        f"{found['unparseable']} messages have a time that cannot be parsed: kept, clustered "
                        "without the window test."))  # fmt: skip
    if found["writer"] is None:
        notes.append(tr("没有留言用户列：每条留言算作一位留言人。",
                        "No writer column: every message counts as one writer."))  # fmt: skip
    empty = sum(1 for t, x in zip(messages.titles, messages.texts) if not t.strip() and not x.strip())
    if empty:
        notes.append(tr(f"{empty} 条留言没有标题和内容：各自成为一个类。",
                        f"{empty} messages have neither title nor text: each is a cluster of its own."))  # fmt: skip
    readable = [not unreadable(t, x) for t, x in zip(messages.titles, messages.texts)]
    junk = readable.count(False)
    if junk:
        notes.append(tr(f"{junk} 条留言没有可读的文字（如只有网页代码残留、数字或符号，route 对其报 error）：各自成为一个类，"
                        "没有地点和关键词。",
                        f"{junk} messages have no readable text (such as only web-page code remnants, digits or symbols; "
                        "route gives them an error): each is a cluster of its own, without place or key terms."))  # fmt: skip
    clusters = find_hotspots(messages, readable=readable, window_days=window_days, ner=ner)
    with TableWriter(output_path) as writer:
        writer.write(clusters[list(HOTSPOT_COLUMNS)])
    report_path = None
    if report is not None:
        from classifier.hotspot_report import write_report

        report_path, font_note = write_report(clusters, messages, report, top=top, window_days=window_days)
        if font_note:
            notes.append(font_note)
    return HotspotSummary(
        output=Path(output_path), rows=len(messages.texts), clusters=len(clusters),
        multi=int((clusters["size"] > 1).sum()), window_days=window_days, time_column=found["time"],
        unparseable_times=found["unparseable"], empty_texts=empty, unreadable_texts=junk, report=report_path,
        seconds=round(time.perf_counter() - start, 3), warnings=notes,
    )  # fmt: skip
