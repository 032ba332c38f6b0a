"""TF-IDF features: jieba word n-grams and character n-grams, computed in vectorised NumPy.

Each n-gram is hashed to a 64-bit key computed from its characters' code points, and an exact vocabulary of
keys learned in ``fit`` maps keys to columns through a bucket table, so a document is turned into a row of the
sparse matrix without a Python loop over its n-grams. The vocabulary keeps the n-grams' text too, for
explanations.

Weighting: raw term count times IDF, each row divided by ``sqrt(sum over its n-gram occurrences of idf**2)``. That
is the L2 norm when no n-gram repeats; with repeats the row's norm grows a little above 1 (up to about 2 for the
longest messages). It lets prediction use every occurrence as a matrix entry without counting them first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from classifier.text import segment, stopwords

_MUL = np.uint64(0x9E3779B97F4A7C15)
_MUL_POSITION = np.uint64(0xC2B2AE3D27D4EB4F)
_SEP = 0
_SPILL = np.int32(1 << 30)
_CHUNK = 2000


def _mix(keys: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of every key (modulo 2**64)."""
    keys = keys ^ (keys >> np.uint64(30))
    keys = keys * np.uint64(0xBF58476D1CE4E5B9)
    keys = keys ^ (keys >> np.uint64(27))
    keys = keys * np.uint64(0x94D049BB133111EB)
    return keys ^ (keys >> np.uint64(31))


def _ngram_keys(units: np.ndarray, valid: np.ndarray, ngram_range: tuple[int, int], only: frozenset = frozenset()):
    """Keys and start positions of every n-gram of ``units`` that lies wholly on valid positions.

    ``only``, when given, restricts the lengths collected to those in it.
    """
    low, high = ngram_range
    keys, starts, lengths = [], [], []
    rolling, ok = units, valid
    for n in range(1, high + 1):
        if n > 1:
            rolling = rolling[:-1] * _MUL + units[n - 1 :]
            ok = ok[:-1] & valid[n - 1 :]
        if n >= low and (not only or n in only):
            where = np.flatnonzero(ok)
            keys.append(_mix(rolling[where] ^ np.uint64(n)))
            starts.append(where)
            lengths.append(np.full(where.size, n, dtype=np.int8))
    return np.concatenate(keys), np.concatenate(starts), np.concatenate(lengths)


class _Units:
    """One batch of documents as a flat array of unit keys, 0 after each document, and where each unit came from.

    Characters are their code points. Words are hashed from their code points in NumPy: every character
    contributes ``code * A ^ position * B`` and a word's key is the mixed sum, so no Python loop runs over
    words; words whose key is in ``stop_keys`` are dropped. Words are joined with U+0001 and documents with
    U+0000 (``normalize`` removes both from texts).
    """

    def __init__(self, analyzer: str, docs: Sequence, stop_keys: np.ndarray | None = None):
        self._stop_keys = stop_keys
        if analyzer == "char":
            self.joined = "\x00".join(d.replace("\x00", " ") for d in docs) + "\x00"
            self.units = np.frombuffer(self.joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        else:
            self.joined = "\x00".join("\x01".join(words) for words in docs) + "\x00"
            self.units = self._word_keys(self.joined)
        self.valid = self.units != _SEP
        separators = ~self.valid
        self.doc = np.cumsum(separators) - separators

    def _word_keys(self, joined: str) -> np.ndarray:
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        boundary = codes <= 1
        ends = np.flatnonzero(boundary)
        starts = np.concatenate(([0], ends[:-1] + 1))
        words = np.flatnonzero(ends > starts)
        segment = np.cumsum(boundary) - boundary
        position = np.arange(codes.size, dtype=np.int64) - starts[segment]
        contribution = (codes * _MUL) ^ (position.astype(np.uint64) * _MUL_POSITION)
        contribution[boundary] = 0
        word_keys = _mix(np.add.reduceat(contribution, starts[words])) | np.uint64(1) if words.size else starts[:0]
        if self._stop_keys is not None and words.size:
            at = np.minimum(np.searchsorted(self._stop_keys, word_keys), len(self._stop_keys) - 1)
            kept = self._stop_keys[at] != word_keys
            words, word_keys = words[kept], word_keys[kept]
        doc_ends = codes[ends] == 0
        doc_of_word = (np.cumsum(doc_ends) - doc_ends)[words]
        units = np.zeros(words.size + int(doc_ends.sum()), dtype=np.uint64)
        slots = np.arange(words.size) + doc_of_word
        units[slots] = word_keys
        self._word_of_unit = np.full(units.size, -1, dtype=np.int64)
        self._word_of_unit[slots] = words
        self._starts, self._ends = starts, ends
        return units

    def text(self, start: int, length: int, analyzer: str) -> str:
        if analyzer == "char":
            return self.joined[start : start + length]
        segments = self._word_of_unit[start : start + length]
        return " ".join(self.joined[self._starts[k] : self._ends[k]] for k in segments)


class KeyIndex:
    """Exact lookup of 64-bit keys to their positions (columns) through a bucket table, vectorised.

    Each bucket holds the first key that falls in it, flagged when later keys share it; those go to a small
    sorted overflow array, searched only for keys whose bucket is flagged. Earlier keys (the more frequent
    n-grams) are found with one gather.
    """

    def __init__(self, keys: np.ndarray, bits: int):
        self.keys = np.asarray(keys, dtype=np.uint64)
        self._mask = np.uint64((1 << bits) - 1)
        buckets = (self.keys & self._mask).astype(np.int64)
        _, first = np.unique(buckets, return_index=True)
        self._table = np.full(1 << bits, -1, dtype=np.int32)
        self._table[buckets[first]] = first
        spilled = np.setdiff1d(np.arange(len(self.keys)), first)
        self._table[buckets[spilled]] |= _SPILL
        order = np.argsort(self.keys[spilled])
        self.spill_keys, self._spill_cols = self.keys[spilled][order], spilled[order].astype(np.int32)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key, -1 for unknown keys."""
        entry = self._table[(keys & self._mask).astype(np.int64)]
        cols = np.where(entry >= 0, entry & ~_SPILL, -1)
        found = cols >= 0
        found[found] = self.keys[cols[found]] == keys[found]
        spill = np.flatnonzero(~found & (entry >= 0) & ((entry & _SPILL) != 0))
        if spill.size and self.spill_keys.size:
            at = np.minimum(np.searchsorted(self.spill_keys, keys[spill]), self.spill_keys.size - 1)
            hit = self.spill_keys[at] == keys[spill]
            cols[spill[hit]] = self._spill_cols[at[hit]]
            found[spill[hit]] = True
        return np.where(found, cols, -1)


class PhraseCounter:
    """Counts occurrences of fixed phrases (e.g. catalogue keywords) in documents, vectorised like the n-grams."""

    def __init__(self, phrases: Sequence[str]):
        if len(set(phrases)) != len(phrases) or not all(phrases):
            raise ValueError("Phrases must be non-empty and distinct.")
        self.phrases = list(phrases)
        self._lengths = frozenset(len(p) for p in self.phrases)
        self._index = KeyIndex(np.array([self._key(p) for p in self.phrases], dtype=np.uint64), 16)

    @staticmethod
    def _key(phrase: str) -> np.uint64:
        units = _Units("char", [phrase])
        return _ngram_keys(units.units, units.valid, (len(phrase), len(phrase)))[0][0]

    def counts(self, docs: Sequence[str]) -> np.ndarray:
        """Matrix (documents x phrases) of occurrence counts (overlapping occurrences each count)."""
        width = len(self.phrases)
        out = np.zeros((len(docs), width), dtype=np.float32)
        for begin, size, rows, phrase in self._hits(docs):
            out[begin : begin + size] = np.bincount(rows * width + phrase, minlength=size * width).reshape(size, width)
        return out

    def sparse_counts(self, docs: Sequence[str]) -> sp.csr_matrix:
        """``counts`` as a sparse matrix, for many phrases (no dense documents x phrases array is made)."""
        parts = [(rows + begin, phrase) for begin, _, rows, phrase in self._hits(docs)]
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        matrix = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(len(docs), len(self.phrases)))
        matrix.sum_duplicates()
        return matrix

    def _hits(self, docs: Sequence[str]):
        """(first document, batch size, document within the batch, phrase) of every occurrence, batch by batch."""
        if not self.phrases:
            return
        span = (min(self._lengths), max(self._lengths))
        for begin in range(0, len(docs), _CHUNK):
            batch = docs[begin : begin + _CHUNK]
            units = _Units("char", batch)
            keys, starts, _ = _ngram_keys(units.units, units.valid, span, self._lengths)
            phrase = self._index.lookup(keys)
            hit = phrase >= 0
            yield begin, len(batch), units.doc[starts[hit]], phrase[hit]


class NgramVectorizer:
    """TF-IDF over hashed character or word n-grams with an exact, frequency-ranked vocabulary.

    ``analyzer="char"`` takes normalised strings; ``analyzer="word"`` takes lists of words, from which
    ``stop_words`` are dropped before n-grams are formed.
    """

    def __init__(
        self,
        *,
        analyzer: str = "char",
        ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_features: int | None = 100_000,
        table_bits: int = 20,
        stop_words: Sequence[str] = (),
    ):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.table_bits = table_bits
        self.stop_words = stop_words

    def _batches(self, docs: Sequence):
        stop_keys = np.sort(_Units("word", [list(self.stop_words)]).units[:-1]) if self.stop_words else None
        for begin in range(0, len(docs), _CHUNK):
            batch = docs[begin : begin + _CHUNK]
            units = _Units(self.analyzer, batch, stop_keys)
            keys, starts, lengths = _ngram_keys(units.units, units.valid, tuple(self.ngram_range))
            yield begin, len(batch), units, keys, starts, lengths

    def fit(self, docs: Sequence) -> NgramVectorizer:
        """Learn the vocabulary (document frequency >= ``min_df``, most frequent first) and IDF weights."""
        if self.analyzer not in ("char", "word"):
            raise ValueError(f"analyzer must be 'char' or 'word', got {self.analyzer!r}.")
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must satisfy 1 <= low <= high, got {self.ngram_range!r}.")
        if len(docs) == 0:
            raise ValueError("Cannot fit a vectorizer on zero documents.")
        chunk_keys, chunk_counts = [], []
        for _, _, units, keys, starts, _ in self._batches(docs):
            order = np.lexsort((units.doc[starts], keys))
            keys, doc = keys[order], units.doc[starts][order]
            first = np.ones(keys.size, dtype=bool)
            first[1:] = (keys[1:] != keys[:-1]) | (doc[1:] != doc[:-1])
            unique, counts = np.unique(keys[first], return_counts=True)
            chunk_keys.append(unique)
            chunk_counts.append(counts)
        all_keys, inverse = np.unique(np.concatenate(chunk_keys), return_inverse=True)
        df = np.bincount(inverse, weights=np.concatenate(chunk_counts)).astype(np.int64)
        keep = np.flatnonzero(df >= self.min_df)
        keep = keep[np.lexsort((all_keys[keep], -df[keep]))]
        if self.max_features is not None:
            keep = keep[: self.max_features]
        keys, df = all_keys[keep], df[keep]
        self.keys_ = keys
        self.idf_ = (np.log((1 + len(docs)) / (1 + df)) + 1).astype(np.float32)
        self.vocabulary_ = self._name_keys(docs)
        return self

    def _name_keys(self, docs: Sequence) -> list[str]:
        names: list[str | None] = [None] * len(self.keys_)
        missing = len(names)
        self._index = KeyIndex(self.keys_, self.table_bits)
        for _, _, units, keys, starts, lengths in self._batches(docs):
            cols = self._index.lookup(keys)
            hit = np.flatnonzero(cols >= 0)
            cols_hit, first = np.unique(cols[hit], return_index=True)
            for col, at in zip(cols_hit.tolist(), hit[first].tolist()):
                if names[col] is None:
                    names[col] = units.text(int(starts[at]), int(lengths[at]), self.analyzer)
                    missing -= 1
            if missing == 0:
                break
        return [name or "" for name in names]


    def occurrences(self, docs: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of every vocabulary n-gram occurrence, rows in ascending runs.

        An occurrence's value is ``idf[column] / norm[row]`` with ``norm = sqrt(sum of idf**2 over the row's
        occurrences)``: summing the duplicates gives raw-tf TF-IDF rows, so a matrix product can use the
        occurrences directly, without counting them first.
        """
        if not hasattr(self, "keys_"):
            raise ValueError("This NgramVectorizer is not fitted yet. Call 'fit' first.")
        rows, cols, values = [], [], []
        for begin, size, units, keys, starts, _ in self._batches(docs):
            found = self._index.lookup(keys)
            hit = found >= 0
            row = units.doc[starts[hit]]
            col = found[hit]
            weight = self.idf_[col]
            norm = np.sqrt(np.bincount(row, weights=weight.astype(np.float64) ** 2, minlength=size))
            norm[norm == 0] = 1
            rows.append(row + begin)
            cols.append(col)
            values.append(weight / norm[row].astype(np.float32))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)

    def transform(self, docs: Sequence) -> sp.csr_matrix:
        """TF-IDF rows (raw term counts times IDF, normalised as in ``occurrences``), one per document."""
        return occurrence_matrix([self.occurrences(docs)], [0], len(docs), len(self.keys_), canonical=True)

    def get_params(self) -> dict:
        return {
            "analyzer": self.analyzer,
            "ngram_range": list(self.ngram_range),
            "min_df": self.min_df,
            "max_features": self.max_features,
            "table_bits": self.table_bits,
            "stop_words": list(self.stop_words),
        }

    def state(self) -> dict[str, np.ndarray]:
        """Learned arrays, for saving with ``np.savez``."""
        return {"keys": self.keys_, "idf": self.idf_}

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray], vocabulary: list[str]) -> NgramVectorizer:
        vectorizer = cls(**{**params, "ngram_range": tuple(params["ngram_range"])})
        vectorizer.keys_ = np.asarray(arrays["keys"], dtype=np.uint64)
        vectorizer.idf_ = np.asarray(arrays["idf"], dtype=np.float32)
        vectorizer.vocabulary_ = list(vocabulary)
        vectorizer._index = KeyIndex(vectorizer.keys_, vectorizer.table_bits)
        return vectorizer


def occurrence_matrix(parts, offsets, n_rows: int, n_cols: int, *, canonical: bool, scale: float = 1.0) -> sp.csr_matrix:
    """CSR matrix from (row, column, value) occurrence arrays, columns shifted by ``offsets``.

    ``canonical`` sums duplicate entries and sorts columns; otherwise duplicates stay (products are the same).
    """
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] + offset for p, offset in zip(parts, offsets)]).astype(np.int32)
    values = np.concatenate([p[2] for p in parts]) * np.float32(scale)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    matrix = sp.csr_matrix((values[order], cols[order], indptr), shape=(n_rows, n_cols))
    if canonical:
        matrix.sum_duplicates()
    return matrix


class TextFeatures:
    """The union of word n-grams (jieba) and character n-grams of normalised ``title + text``."""

    def __init__(
        self,
        *,
        tokenizer: str = "rjieba",
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (1, 2),
        min_df: int = 2,
        max_word_features: int = 100_000,
        max_char_features: int = 100_000,
    ):
        self.tokenizer = tokenizer
        self.word = NgramVectorizer(
            analyzer="word", ngram_range=word_ngrams, min_df=min_df, max_features=max_word_features,
            stop_words=sorted(stopwords()),
        )  # fmt: skip
        self.char = NgramVectorizer(
            analyzer="char", ngram_range=char_ngrams, min_df=min_df, max_features=max_char_features
        )

    @classmethod
    def from_parts(cls, tokenizer: str, word: NgramVectorizer, char: NgramVectorizer) -> TextFeatures:
        """Rebuild fitted features from their two vectorizers."""
        features = cls(tokenizer=tokenizer)
        features.word, features.char = word, char
        return features

    def _words(self, docs: Sequence[str]) -> list[list[str]]:
        """jieba segments of the lower-cased documents; the word vectorizer drops stop-words (as ``tokenize``)."""
        return [segment(doc.lower().replace("\x00", " ").replace("\x01", " "), self.tokenizer) for doc in docs]

    def fit(self, docs: Sequence[str]) -> TextFeatures:
        """Fit both vocabularies on normalised documents (labelled and unlabelled alike)."""
        self.word.fit(self._words(docs))
        self.char.fit(docs)
        return self

    def fit_transform(self, docs: Sequence[str], extra_docs: Sequence[str] = ()) -> sp.csr_matrix:
        """Fit on ``docs`` + ``extra_docs`` and return the canonical matrix of ``docs``, segmenting each once."""
        docs, every = list(docs), list(docs) + list(extra_docs)
        words = self._words(every)
        self.word.fit(words)
        self.char.fit(every)
        return self._matrix(docs, words[: len(docs)], canonical=True)

    def transform(self, docs: Sequence[str], *, canonical: bool = True) -> sp.csr_matrix:
        """Word block then character block, each weighted by sqrt(1/2).

        ``canonical=False`` leaves repeated n-grams as duplicate entries (same products, built faster: what
        prediction uses); training needs the canonical matrix.
        """
        return self._matrix(docs, self._words(docs), canonical=canonical)

    def _matrix(self, docs: Sequence[str], words: list[list[str]], *, canonical: bool) -> sp.csr_matrix:
        parts = [self.word.occurrences(words), self.char.occurrences(docs)]
        return occurrence_matrix(parts, [0, len(self.word.keys_)], len(docs), self.n_features,
                                 canonical=canonical, scale=np.sqrt(0.5))  # fmt: skip

    @property
    def feature_names(self) -> list[str]:
        return [f"词:{w}" for w in self.word.vocabulary_] + [f"字:{c}" for c in self.char.vocabulary_]

    @property
    def n_features(self) -> int:
        return len(self.word.keys_) + len(self.char.keys_)


def char_ngram_occurrences(docs: Sequence[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(document index, 64-bit n-gram key) of every character n-gram occurrence in ``docs`` (normalised strings)."""
    doc_index, keys = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.uint64)]
    for begin in range(0, len(docs), _CHUNK):
        units = _Units("char", docs[begin : begin + _CHUNK])
        batch_keys, starts, _ = _ngram_keys(units.units, units.valid, tuple(ngram_range))
        doc_index.append(units.doc[starts].astype(np.int64) + begin)
        keys.append(batch_keys)
    return np.concatenate(doc_index), np.concatenate(keys)
