"""Near-duplicate machinery: canonical text, character shingles, MinHash signatures, LSH band tables, similarity.

A message is canonicalised (``text.normalize``: NFKC, full/half width, traditional → simplified script, masked
phone numbers as ``TEL``; then lower case, punctuation and spaces removed) and cut into character 3-gram shingles,
hashed to 32 bits. MinHash signatures use datasketch's permutations (``affine32`` scheme, the same values as
``datasketch.MinHash(hashfunc=int).update_batch(shingles)``), computed for a whole batch with NumPy. Signatures
are split into bands; two messages sharing a band are candidates, and a candidate counts only when the exact
similarity of the two shingle sets reaches the threshold.

The exact similarity is the overlap coefficient ``|A ∩ B| / min(|A|, |B|)``: a message repeated with a sentence
added ("再次反映：…") or removed scores close to 1, where the Jaccard index would drop with the length of the
addition. A set must hold at least ``MIN_SHARED`` shingles in common for a match, so that two short messages that
share a stock phrase do not match.

Band tables are sorted NumPy arrays (a few runs merged as they grow, like a log-structured merge tree), 12 bytes a
band key, so that a million messages fit in a few hundred MiB; datasketch's ``MinHashLSH`` keeps Python objects
per band and key, several times more.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from classifier.errors import ConfigError
from classifier.i18n import tr
from classifier.text import normalize

SHINGLE = 3
NUM_PERM = 64
BANDS = 16
SEED = 1
THRESHOLD = 0.8
"""Default similarity threshold, chosen on the evaluation set of ``benchmarks/dedup_quality.py`` (see README)."""
MIN_SHARED = 8
MAX_CANDIDATES = 16
"""Candidates verified per message (distinct earlier messages sharing a band), most band hits first."""

_DROP = re.compile(r"[\W_]+")
_MIX = np.uint64(0x9E3779B97F4A7C15)
_STEP = np.uint64(1_000_003)


@dataclass(frozen=True)
class MinHashParams:
    """What makes signatures comparable: saved with an index and checked when it is loaded."""

    shingle: int = SHINGLE
    num_perm: int = NUM_PERM
    bands: int = BANDS
    seed: int = SEED

    def __post_init__(self) -> None:
        if self.shingle < 1 or self.num_perm < 1 or self.bands < 1 or self.num_perm % self.bands:
            raise ConfigError(tr(f"MinHash 参数 {self} 无效：num_perm 应为 bands 的整数倍，且各项都 ≥ 1。",
                                 f"Invalid MinHash parameters {self}: expected num_perm a multiple of bands, all ≥ 1."))

    def as_dict(self) -> dict:
        return asdict(self)


def canonical(text: str) -> str:
    """The text as compared: normalised (simplified script included), lower case, without punctuation or spaces."""
    return _DROP.sub("", normalize(text).lower())


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, as datasketch applies it before its affine permutations."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def shingle_sets(canon: Sequence[str], k: int = SHINGLE) -> list[np.ndarray]:
    """Sorted unique 32-bit hashes of the character ``k``-grams of each canonical text (a text shorter than ``k``
    is one shingle; an empty text an empty set)."""
    padded = [s + "\0" * (k - len(s)) if 0 < len(s) < k else s for s in canon]
    lengths = np.fromiter((len(s) for s in padded), dtype=np.int64, count=len(padded))
    counts = np.maximum(lengths - k + 1, 0)
    if counts.sum() == 0:
        return [np.empty(0, np.uint32) for _ in padded]
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    hashes = codes[:n].copy()
    for i in range(1, k):
        hashes = hashes * _STEP + codes[i : n + i]
    hashes ^= hashes >> np.uint64(31)
    hashes *= _MIX
    hashes ^= hashes >> np.uint64(29)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    owner = np.repeat(np.arange(len(padded), dtype=np.uint64), counts)
    position = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    keyed = np.sort((owner << np.uint64(32)) | (hashes[position] >> np.uint64(32)))
    keyed = keyed[np.concatenate(([True], keyed[1:] != keyed[:-1]))]
    bounds = np.searchsorted(keyed >> np.uint64(32), np.arange(len(padded) + 1, dtype=np.uint64))
    values = (keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return [values[bounds[i] : bounds[i + 1]] for i in range(len(padded))]


def text_shingles(texts: Sequence[object], k: int = SHINGLE) -> list[np.ndarray]:
    """``shingle_sets`` of the ``canonical`` form of each text; a blank or missing text has an empty set."""
    return shingle_sets([canonical(t) if isinstance(t, str) and t.strip() else "" for t in texts], k)


class Signer:
    """MinHash signatures of shingle sets, with datasketch's permutations for ``params``."""

    def __init__(self, params: MinHashParams):
        from datasketch import MinHash

        self.params = params
        self._a, self._b = MinHash(num_perm=params.num_perm, seed=params.seed, scheme="affine32").permutations

    def signatures(self, sets: Sequence[np.ndarray], batch: int = 256) -> np.ndarray:
        """``(len(sets), num_perm)`` uint32; an empty set gets the all-ones signature (it matches nothing)."""
        out = np.full((len(sets), self.params.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        for first in range(0, len(sets), batch):
            part = list(sets[first : first + batch])
            rows = [i for i, s in enumerate(part) if len(s)]
            if not rows:
                continue
            lengths = np.array([len(part[i]) for i in rows])
            flat = _fmix32(np.concatenate([part[i] for i in rows]))
            permuted = self._a[:, None] * flat[None, :] + self._b[:, None]
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            out[first + np.array(rows)] = np.minimum.reduceat(permuted, starts, axis=1).T
        return out

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """``(n, bands)`` uint64 keys: band number in the high 32 bits, a hash of the band's values in the low."""
        n, bands = len(signatures), self.params.bands
        rows = self.params.num_perm // bands
        parts = signatures.reshape(n, bands, rows).astype(np.uint64)
        hashed = np.zeros((n, bands), dtype=np.uint64)
        for i in range(rows):
            hashed = (hashed ^ parts[:, :, i]) * _MIX
            hashed ^= hashed >> np.uint64(32)
        return (np.arange(bands, dtype=np.uint64)[None, :] << np.uint64(32)) | (hashed & np.uint64(0xFFFFFFFF))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap coefficient of two sorted unique shingle sets; 0 when they share fewer than ``MIN_SHARED``
    shingles, unless both are that small and equal."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    smaller = min(len(a), len(b))
    if smaller < MIN_SHARED:
        return 1.0 if shared == len(a) == len(b) else 0.0
    return shared / smaller if shared >= MIN_SHARED else 0.0


class BandTable:
    """Band key → the first row that had it, as sorted NumPy runs (merged when a run outgrows the next)."""

    def __init__(self, keys: np.ndarray | None = None, rows: np.ndarray | None = None):
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        if keys is not None and len(keys):
            order = np.argsort(keys, kind="stable")
            self._runs.append((keys[order], rows[order].astype(np.int32)))

    def __len__(self) -> int:
        return sum(len(k) for k, _ in self._runs)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The row stored for each key, -1 where none."""
        found = np.full(keys.shape, -1, dtype=np.int64)
        flat_keys, flat_found = keys.ravel(), found.reshape(-1)
        for run_keys, run_rows in self._runs:
            at = np.searchsorted(run_keys, flat_keys)
            at_clipped = np.minimum(at, len(run_keys) - 1)
            hit = (at < len(run_keys)) & (run_keys[at_clipped] == flat_keys)
            flat_found[hit] = run_rows[at_clipped[hit]]
        return found

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Store ``rows`` under ``keys`` for keys not stored yet (the first row of a key wins)."""
        keys, rows = keys.ravel(), rows.ravel()
        new = self.lookup(keys) < 0
        keys, first, _ = first_occurrences(keys[new])
        if not len(keys):
            return
        self._runs.append((keys, rows[new][first].astype(np.int32)))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k1, r1), (k2, r2) = self._runs.pop(), self._runs.pop()
            merged_keys = np.concatenate((k2, k1))
            order = np.argsort(merged_keys, kind="stable")
            self._runs.append((merged_keys[order], np.concatenate((r2, r1))[order]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All keys (sorted) and their rows, for saving."""
        if not self._runs:
            return np.empty(0, np.uint64), np.empty(0, np.int32)
        keys = np.concatenate([k for k, _ in self._runs])
        rows = np.concatenate([r for _, r in self._runs])
        order = np.argsort(keys, kind="stable")
        return keys[order], rows[order]


class ShingleSpill:
    """Shingle sets of every row so far, in a temporary file (not in memory); read back one set at a time."""

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="complaint-router-shingles.", suffix=".u32")
        self._fd = fd
        os.unlink(self._path)  # the open descriptor keeps it until closed; nothing is left behind
        self._offsets = [0]
        self._end = 0

    def append(self, sets: Sequence[np.ndarray]) -> None:
        if sets:
            block = np.concatenate(list(sets)).astype(np.uint32, copy=False)
            os.pwrite(self._fd, block.tobytes(), self._end * 4)
            for s in sets:
                self._end += len(s)
                self._offsets.append(self._end)

    def __getitem__(self, row: int) -> np.ndarray:
        start, end = self._offsets[row], self._offsets[row + 1]
        return np.frombuffer(os.pread(self._fd, (end - start) * 4, start * 4), dtype=np.uint32)

    def close(self) -> None:
        os.close(self._fd)


def first_occurrences(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct keys, the index of each one's first occurrence, and each key's place among them
    (``np.unique`` with ``return_index`` and ``return_inverse``, by sorting: NumPy's hash path is slow here)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1])) if len(keys) else np.zeros(0, dtype=bool)
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], order[starts], inverse


def candidates(found: np.ndarray, limit: int = MAX_CANDIDATES) -> list[int]:
    """Distinct rows among one message's band hits, the most often hit first, at most ``limit``."""
    hits = found[found >= 0]
    if not len(hits):
        return []
    rows, counts = np.unique(hits, return_counts=True)
    order = np.lexsort((rows, -counts))
    return rows[order[:limit]].tolist()
