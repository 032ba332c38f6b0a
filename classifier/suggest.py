"""Which messages of a new city's file to label first: those whose labels would teach the model most.

Every routable row of the file is routed, then scored (``informativeness``), higher = more to learn:

* **uncertainty** ``1 - margin``: the margin between the two most probable departments of the department head
  (in [0, 1]; 1 when the head cannot tell them apart);
* **disagreement**, the share of three checks that fail (in [0, 1]):
  ``catalogue``: the department the catalogue points to (most keyword hits, else the most similar
  responsibility text) is not the head's choice; ``heads``: the screening and department heads contradict each
  other (纪检监察 without 纪委监委, 无效 with a department, 信访局 outside 信访事项, or the reverse);
  ``rules``: the final decision is not the department head's own choice (a rule or the screening overruled it).

The score is uncertainty + disagreement. For **diversity**, the ``CANDIDATES * n`` best-scoring rows are the
candidates; they are grouped into ``n`` clusters (k-means over the TF-IDF of character 1–2-grams fitted on the
file's own texts, reduced to 100 dimensions by truncated SVD and normalised) and each cluster gives its
highest-scoring row, so the picks spread over the themes the model finds hard instead of piling up on near-copies
of one confusing message. Texts that repeat count once. Rows screened 无效 (by the head or a rule, e.g. "测试测试")
are picked only when too few other rows are left: their department (无) teaches the department head nothing, and
the rules already catch them. The chosen rows are written most informative first.

The measured learning curve against random choice is in the README (``benchmarks/adapt.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.artifact import RoutingModel, load_model
from classifier.catalogue import Catalogue
from classifier.errors import InputError
from classifier.i18n import tr
from classifier.io import TableWriter, append_columns, check_output_path, open_table
from classifier.router import INVALID, LINKED, NO_DEPARTMENT, PETITION, PETITION_OFFICE, prepare, review_heads, route_prepared

LABEL_HEADS = ("screening", "department")
"""Heads whose empty columns the screener fills (those the model has; all its heads for a model with neither)."""
REASONS = ("low_margin", "catalogue", "heads", "rules")
COVERAGE = "coverage"
"""The reason of a pick none of ``REASONS`` flags: the best row of its cluster, chosen for diversity."""
CANDIDATES = 2
"""Candidates per pick: the ``CANDIDATES * n`` most informative rows are clustered into ``n`` groups."""
MAX_KMEANS_ROWS = 20_000
"""Above this many distinct texts, clustering uses mini-batch k-means."""


@dataclass
class SuggestResult:
    output: Path
    rows: int
    routable: int
    chosen: int
    seconds: float
    model_version: str


def informativeness(model: RoutingModel, docs: list[str], decided: pd.DataFrame, probs: dict[str, np.ndarray]):
    """Score of every routed row (uncertainty + disagreement, in [0, 2]) and its reasons (``REASONS`` codes)."""
    n = len(docs)
    head = "department" if "department" in probs else review_heads(model.labels)[0]
    labels = model.labels[head]
    p = probs[head]
    top2 = -np.sort(-p, axis=1)[:, :2] if p.shape[1] > 1 else np.column_stack([p[:, 0], np.zeros(n)])
    uncertainty = 1.0 - (top2[:, 0] - top2[:, 1])
    choice = np.array(labels, dtype=object)[p.argmax(axis=1)]
    checks = {}
    if head == "department" and model.catalogue is not None:
        hits = model.catalogue.keyword_hits(docs, labels)
        similarity = model.catalogue.similarity(docs, labels, model.learned_catalogue)
        pointed = np.where(hits.max(axis=1) > 0, hits.argmax(axis=1), similarity.argmax(axis=1))
        known = (hits.max(axis=1) > 0) | (similarity.max(axis=1) > 0)
        checks["catalogue"] = known & (np.array(labels, dtype=object)[pointed] != choice)
    if head == "department" and "screening" in probs:
        screening = np.array(model.labels["screening"], dtype=object)[probs["screening"].argmax(axis=1)]
        checks["heads"] = np.array([_contradict(s, d) for s, d in zip(screening, choice)], dtype=bool)
    if head in decided:
        final = decided[head].replace("", NO_DEPARTMENT if head == "department" else "").to_numpy(dtype=object)
        checks["rules"] = final != choice
    disagreement = np.mean([c for c in checks.values()], axis=0) if checks else np.zeros(n)
    flags = {"low_margin": uncertainty > 0.5, **checks}
    reasons = [";".join(code for code in REASONS if code in flags and flags[code][i]) for i in range(n)]
    return uncertainty + disagreement, reasons


def _contradict(screening: str, department: str) -> bool:
    """True when a screening category and a department cannot go together (see ``classifier.router``)."""
    if screening in LINKED:
        return department != LINKED[screening]
    if department in LINKED.values():
        return True
    return department == PETITION_OFFICE and screening != PETITION


def cluster(docs: list[str], k: int, seed: int) -> np.ndarray:
    """Cluster label of every document: k-means on the SVD-reduced TF-IDF of character 1–2-grams."""
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if k >= len(docs):
        return np.arange(len(docs))
    X = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2 if len(docs) > 50 else 1, max_features=50_000,
                        sublinear_tf=True).fit_transform(docs)  # fmt: skip
    dims = min(100, X.shape[1] - 1, len(docs) - 1)
    if dims >= 2:
        X = normalize(TruncatedSVD(n_components=dims, random_state=seed).fit_transform(X))
    kind = KMeans if len(docs) <= MAX_KMEANS_ROWS else MiniBatchKMeans
    return kind(n_clusters=k, n_init=3, random_state=seed).fit_predict(X)


def choose(scores: np.ndarray, docs: list[str], n: int, seed: int = 0) -> np.ndarray:
    """Positions of the ``n`` rows to label: the best-scoring row of each of ``n`` clusters of the
    ``CANDIDATES * n`` best-scoring distinct texts, best first."""
    _, first = np.unique(np.array(docs, dtype=object), return_index=True)
    candidates = first[np.argsort(-scores[first], kind="stable")][: CANDIDATES * n]
    groups = cluster([docs[i] for i in candidates], min(n, len(candidates)), seed)
    picks = []
    for group in np.unique(groups):
        members = candidates[groups == group]
        picks.append(members[np.argmax(scores[members])])
    picks = np.array(picks, dtype=int)
    return picks[np.argsort(-scores[picks], kind="stable")][:n]


def suggest_rows(model: RoutingModel, titles: list, texts: list, n: int, *, seed: int = 0, prefill: bool = False):
    """The suggestion columns of the ``n`` rows to label, their positions among the given rows, and how many
    rows were routable."""
    docs, reasons = prepare(titles, texts)
    routable = np.array([r is None for r in reasons], dtype=bool)
    if not routable.any():
        raise InputError(tr("文件中没有可分派的留言（每行都缺少可用的文本）：无可推荐标注的留言。",
                            "No routable message in the file (every row lacks a usable text): nothing to suggest."))
    at = np.flatnonzero(routable)
    decided, probs = route_prepared(model, docs, reasons)
    decided = decided.iloc[at].reset_index(drop=True)
    good_docs = [docs[i] for i in at]
    scores, why = informativeness(model, good_docs, decided, probs)
    invalid = decided["screening"].eq(INVALID).to_numpy() if "screening" in decided else np.zeros(len(at), dtype=bool)
    picked = np.zeros(0, dtype=int)
    for group in (np.flatnonzero(~invalid), np.flatnonzero(invalid)):  # 无效 rows only when the others run out
        if len(group) and len(picked) < n:
            picked = np.r_[picked, group[choose(scores[group], [good_docs[i] for i in group], n - len(picked), seed)]]
    columns = pd.DataFrame({"suggest_rank": np.arange(1, len(picked) + 1), "suggest_score": np.round(scores[picked], 4),
                            "suggest_reasons": [why[i] or COVERAGE for i in picked]})  # fmt: skip
    heads = [h for h in LABEL_HEADS if h in model.labels] or list(model.labels)
    for head in heads:
        columns[f"guess_{head}"] = decided[head].to_numpy()[picked]
        columns[f"guess_{head}_confidence"] = decided[f"{head}_confidence"].to_numpy()[picked]
    if "department_top3" in decided:
        columns["guess_department_top3"] = decided["department_top3"].to_numpy()[picked]
    for head in heads:
        columns[head] = columns[f"guess_{head}"] if prefill else ""
    return columns, at[picked], len(at)


def read_rows(path: str | Path, text_col: str | None, title_col: str | None) -> tuple[pd.DataFrame, list, list]:
    """The whole input table (all columns, as strings), and its titles and texts (None for unreadable rows)."""
    table = open_table(path, text_col=text_col, title_col=title_col)
    chunks = list(table.chunks())
    frame = pd.concat([c.frame for c in chunks], ignore_index=True) if chunks else pd.DataFrame(columns=table.columns, dtype=str)
    frame = frame.fillna("")
    errors = [e for c in chunks for e in c.errors]
    texts = [None if bad else t for t, bad in zip(frame[table.text_col].tolist(), errors)]
    titles = frame[table.title_col].tolist() if table.title_col else [""] * len(frame)
    return frame, titles, texts


def suggest_file(
    input_path: str | Path,
    output_path: str | Path,
    model,
    *,
    n: int = 100,
    text_col: str | None = None,
    title_col: str | None = None,
    catalogue: Catalogue | None = None,
    seed: int = 0,
    prefill: bool = False,
) -> SuggestResult:
    """Write the ``n`` rows of ``input_path`` most worth labelling to ``output_path`` (format from its extension).

    Each keeps its input columns (an input column named like an output column is kept as ``<name>_input``),
    followed by ``suggest_rank``, ``suggest_score``, ``suggest_reasons``, ``guess_<head>`` and
    ``guess_<head>_confidence`` for screening and department, ``guess_department_top3``, and the empty label
    columns ``screening`` and ``department`` for the screener (``prefill``: filled with the guesses).
    ``model`` is a ``RoutingModel`` or a model folder; ``catalogue`` replaces the model's catalogue.
    """
    start = time.perf_counter()
    if n < 1:
        raise InputError(tr(f"--n 至少为 1，实际为 {n}。", f"--n must be at least 1, got {n}."))
    check_output_path(output_path)
    if Path(output_path).exists() and Path(output_path).resolve() == Path(input_path).resolve():
        raise InputError(tr(f"输出文件 {output_path} 就是输入文件：请另取一个文件名（输入文件保持不变）。",
                            f"Output {output_path} is the input file: expected another file name (the input is kept)."))
    frame, titles, texts = read_rows(input_path, text_col, title_col)
    if not isinstance(model, RoutingModel):
        model = load_model(model)
    model = model.with_catalogue(catalogue)
    columns, rows, routable = suggest_rows(model, titles, texts, n, seed=seed, prefill=prefill)
    out = append_columns(frame.iloc[rows].reset_index(drop=True), columns)
    with TableWriter(output_path) as writer:
        writer.write(out)
    return SuggestResult(Path(output_path), len(frame), routable, len(out), round(time.perf_counter() - start, 3),
                         model.version)  # fmt: skip
