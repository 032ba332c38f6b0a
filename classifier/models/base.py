"""The contract every model kind follows, and the label handling they share.

A model turns normalised documents (``title + " " + text``) into calibrated probabilities per head (label
column). It is built from a ``TrainConfig`` (hyper-parameters stored as given), learns in ``fit``, and saves its
own files into an artifact folder; ``classifier.artifact`` adds labels, metadata and checksums around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from classifier.config import TrainConfig
from classifier.errors import InputError
from classifier.i18n import tr


class Model:
    """Base of every model kind: the contract, with the parts all kinds share.

    Subclasses set ``kind`` and implement ``fit``, ``predict_proba``, ``save`` and ``load``; ``explain`` is
    optional (the default explains nothing). Learned attributes end in ``_``; ``labels_`` maps each head to its
    sorted labels.
    """

    kind: ClassVar[str]
    needs_torch: ClassVar[bool] = False
    """True when the model runs on torch: it is routed in one process (torch does not survive ``fork``) and
    its artifact records the torch library versions."""
    supports_sample_weight: ClassVar[bool] = False
    """True when ``fit`` takes ``sample_weight`` (one positive number per document), as ``adapt`` needs."""
    supports_groups: ClassVar[bool] = False
    """True when ``fit`` takes ``groups`` (one near-copy group per document) and keeps each group inside one fold
    of the cross-validation it runs while fitting."""

    def __init__(self, config: TrainConfig):
        self.config = config

    @property
    def labels(self) -> dict[str, list[str]]:
        """Sorted labels per head."""
        return {head: list(names) for head, names in self.labels_.items()}

    def fit(self, docs: Sequence[str], targets: dict[str, Sequence[str]], *, vocabulary_docs: Sequence[str] = ()):
        """Learn from ``docs`` and one label column per head (``""`` = no label for that head); returns self.

        A kind with ``supports_sample_weight`` also takes ``sample_weight=`` (one weight per document)."""
        raise NotImplementedError

    def predict_proba(self, docs: Sequence[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, one row per document, columns in ``labels[head]`` order."""
        raise NotImplementedError

    def save(self, directory: Path) -> list[str]:
        """Write the model's own files into ``directory``; returns their paths relative to it."""
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path, config: TrainConfig, labels: dict[str, list[str]]):
        """The model saved in ``directory`` (checksums are verified by the caller)."""
        raise NotImplementedError

    def explain(self, doc: str, head: str, label: str, k: int = 8) -> list[tuple[str, float]]:
        """Terms of ``doc`` that pushed ``head`` towards ``label`` (term, contribution); none by default."""
        return []

    def cross_validated_proba(self, head: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Out-of-fold probabilities of ``head`` for the documents ``fit`` saw, when the kind computes them while
        fitting (row indices into those documents, probabilities); kept in memory only. None by default."""
        return None


def encode_labels(column: Sequence[str], *, head: str | None = None, missing: int = -1) -> tuple[list[str], np.ndarray]:
    """Sorted labels of one head and the label index of every row (``missing`` where the label is ``""``).

    Raises ``InputError`` when the head has fewer than two labels to learn from.
    """
    column = np.asarray(column, dtype=object)
    names = sorted(set(column[column != ""].tolist()))
    if len(names) < 2:
        where = tr(f"标签列 {head!r}：", f"Head {head!r}: ") if head else ""
        raise InputError(tr(f"{where}至少需要两种标签才能训练，但只有 {names}。",
                            f"{where}a head needs at least two labels to learn; found only {names}."))
    index = {name: i for i, name in enumerate(names)}
    return names, np.array([index.get(value, missing) for value in column], dtype=np.int64)
