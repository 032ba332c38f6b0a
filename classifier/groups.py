"""Near-duplicate groups of messages, so that a benchmark never puts copies of one message on both sides of a split.

Two texts are near-copies when the cosine similarity of their character 2–3-gram TF-IDF vectors (raw counts times
smoothed IDF, L2-normalised, as scikit-learn's ``TfidfVectorizer`` weights them) is at least the threshold; a
group is a connected component of that relation (a ~ b and b ~ c put a, b and c in one group). On the bundled
annotations, 0.8 joins the same writer posting twice and neighbours posting one text with a few words changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.preprocessing import normalize as l2_normalize

from classifier.features import char_ngram_occurrences

DEFAULT_THRESHOLD = 0.8
BLOCK_ROWS = 1000
"""Rows per block of the similarity product: memory stays bounded by BLOCK_ROWS x n, never n x n."""


def tfidf_rows(texts: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised character 2–3-gram TF-IDF rows of ``texts``; n-grams seen in one text only are dropped.

    Dropping them after normalising leaves every dot product between two different texts unchanged.
    """
    n = len(texts)
    doc, keys = char_ngram_occurrences(texts, (2, 3))
    _, column = np.unique(keys, return_inverse=True)
    counts = sp.csr_matrix((np.ones(doc.size, dtype=np.float32), (doc, column.ravel())), shape=(n, int(column.max(initial=-1)) + 1))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
    rows = l2_normalize(counts @ sp.diags(idf))
    return rows[:, np.flatnonzero(df >= 2)].tocsr()


def similar_pairs(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, of texts whose TF-IDF cosine is at least ``threshold``.

    The similarity matrix is computed in blocks of rows against the rows after them (sparse products), so memory
    is ``BLOCK_ROWS x n`` at most.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}.")
    n = len(texts)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = tfidf_rows(list(texts))
    firsts, seconds = [], []
    for begin in range(0, n, BLOCK_ROWS):
        block = (rows[begin : begin + BLOCK_ROWS] @ rows[begin:].T).tocoo()
        keep = (block.data >= threshold - 1e-6) & (block.row < block.col)
        firsts.append(block.row[keep].astype(np.int64) + begin)
        seconds.append(block.col[keep].astype(np.int64) + begin)
    return np.concatenate(firsts), np.concatenate(seconds)


def near_duplicate_groups(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Group id of every text (``int64``, 0, 1, … in order of first appearance); near-copies share an id.

    Texts are compared as given: pass normalised documents (``classifier.data.message_docs``). A text with no
    character pair (empty, one character) is a group of its own.
    """
    n = len(texts)
    first, second = similar_pairs(texts, threshold)
    graph = sp.coo_matrix((np.ones(first.size, dtype=np.int8), (first, second)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first_seen, inverse = np.unique(labels, return_index=True, return_inverse=True)
    renumber = np.empty(first_seen.size, dtype=np.int64)
    renumber[np.argsort(first_seen, kind="stable")] = np.arange(first_seen.size)
    return renumber[inverse]


def copy_share(groups: np.ndarray) -> float:
    """Share of items whose group holds at least one other item."""
    if len(groups) == 0:
        return 0.0
    sizes = np.bincount(groups)
    return float((sizes[groups] > 1).mean())
