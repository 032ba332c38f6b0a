"""Linear heads over the TF-IDF features: one LinearSVC per label column, calibrated by temperature scaling.

Probabilities are ``softmax(scores / T)`` with one temperature ``T`` per head fitted on cross-validated
scores, so they are calibrated without changing the ranking. Weights are stored as float16 (the in-memory
model uses the same rounded values, so a saved and reloaded model gives identical probabilities).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from classifier.config import TrainConfig
from classifier.errors import InputError
from classifier.i18n import tr
from classifier.features import NgramVectorizer, TextFeatures
from classifier.models.base import Model, encode_labels


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of ``softmax(scores / T)``."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        p = softmax(scores / np.exp(log_t))
        return -float(np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))

    return float(np.exp(minimize_scalar(nll, bounds=(-5, 3), method="bounded").x))


def tune_offsets(scores: np.ndarray, y: np.ndarray, fixed: int, grid=np.arange(-1.5, 1.51, 0.1), rounds: int = 2) -> np.ndarray:
    """Per-class score offsets (``fixed`` stays 0) maximising macro-F1 of ``argmax(scores + offsets)``."""
    from sklearn.metrics import f1_score

    offsets = np.zeros(scores.shape[1])

    def score(candidate: np.ndarray) -> float:
        return f1_score(y, (scores + candidate).argmax(axis=1), labels=np.arange(scores.shape[1]), average="macro", zero_division=0)

    best = score(offsets)
    for _ in range(rounds):
        for k in range(scores.shape[1]):
            if k == fixed:
                continue
            for value in grid:
                trial = offsets.copy()
                trial[k] = value
                result = score(trial)
                if result > best + 1e-12:
                    best, offsets = result, trial
    return offsets


class LinearHead:
    """A multi-class linear classifier with calibrated ``predict_proba`` (classes sorted).

    A head whose most frequent label holds at least ``imbalance_share`` of the rows (e.g. screening, where
    90% is 政务服务) is trained without class weights and gets per-class score offsets tuned on
    cross-validated scores for macro-F1; other heads use ``class_weight``.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        calibration_folds: int = 3,
        imbalance_share: float = 0.5,
        seed: int = 0,
    ):
        self.C = C
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.imbalance_share = imbalance_share
        self.seed = seed

    def _svm(self):
        from sklearn.svm import LinearSVC

        weight = None if self.imbalanced_ else self.class_weight
        return LinearSVC(C=self.C, class_weight=weight, random_state=self.seed)

    def _scores(self, svm, X) -> np.ndarray:
        """Decision scores for every class of the head (classes missing from ``svm``'s training rows get the
        row's lowest score minus one)."""
        scores = svm.decision_function(X)
        scores = np.column_stack([-scores, scores]) / 2 if scores.ndim == 1 else scores
        if len(svm.classes_) == len(self.classes_):
            return scores
        full = np.repeat(scores.min(axis=1, keepdims=True) - 1, len(self.classes_), axis=1)
        full[:, svm.classes_] = scores
        return full

    def fit(self, X: sp.csr_matrix, y: Sequence[str], sample_weight: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> LinearHead:
        """Fit on rows ``X`` with labels ``y``; ``sample_weight`` multiplies each row's loss (default 1); rows of
        one of ``groups`` (near-copies) stay in one calibration fold."""
        self.classes_, codes = encode_labels(y)
        counts = np.bincount(codes)
        self.imbalanced_ = counts.max() >= self.imbalance_share * len(codes)
        self.offsets_ = np.zeros(len(self.classes_))
        self.temperature_ = 1.0
        self.cross_validated_ = None
        folds = min(self.calibration_folds, int(counts.max()))
        if folds >= 2:
            from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

            scores = np.zeros((len(codes), len(self.classes_)))
            scored = np.zeros(len(codes), dtype=bool)
            if groups is not None and len(np.unique(groups)) < folds:
                groups = None  # too few near-copy groups to split by: rows are split one by one
            with warnings.catch_warnings():  # classes rarer than the folds: scored by models that never saw them
                warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
                if groups is None:
                    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
                    splits = list(splitter.split(np.zeros(len(codes)), codes))
                else:
                    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=self.seed)
                    splits = list(splitter.split(np.zeros(len(codes)), codes, groups))
            for train, held in splits:
                if len(np.unique(codes[train])) < 2:
                    continue
                weight = None if sample_weight is None else sample_weight[train]
                scores[held] = self._scores(self._svm().fit(X[train], codes[train], sample_weight=weight), X[held])
                scored[held] = True
            if self.imbalanced_:
                self.offsets_ = tune_offsets(scores, codes, fixed=int(counts.argmax()))
            self.temperature_ = fit_temperature(scores + self.offsets_, codes)
            probabilities = softmax((scores + self.offsets_) / self.temperature_)
            self.cross_validated_ = np.where(scored[:, None], probabilities, np.nan)  # NaN: a fold with one class
        svm = self._svm().fit(X, codes, sample_weight=sample_weight)
        coef = svm.coef_ if len(self.classes_) > 2 else np.vstack([-svm.coef_[0], svm.coef_[0]]) / 2
        intercept = svm.intercept_ if len(self.classes_) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]]) / 2
        self.coef_ = coef.astype(np.float16).astype(np.float32)
        self.intercept_ = (intercept + self.offsets_).astype(np.float32)
        return self


class LinearModel(Model):
    """Shared TF-IDF features and one ``LinearHead`` per label column."""

    kind = "linear"
    supports_sample_weight = True
    supports_groups = True

    @property
    def labels_(self) -> dict[str, list[str]]:
        return {head: h.classes_ for head, h in self.heads_.items()}

    def fit(
        self,
        docs: Sequence[str],
        targets: dict[str, Sequence[str]],
        *,
        vocabulary_docs: Sequence[str] = (),
        sample_weight: Sequence[float] | None = None,
        groups: Sequence[int] | None = None,
    ) -> LinearModel:
        """Fit features on ``docs`` + ``vocabulary_docs`` and one head per target (empty labels skipped);
        ``sample_weight`` (one per document) weighs each row in every head's loss; ``groups`` (one near-copy group
        per document) keeps near-copies in one calibration fold."""
        c = self.config
        self.features_ = TextFeatures(
            tokenizer=c.tokenizer,
            word_ngrams=c.word_ngrams,
            char_ngrams=c.char_ngrams,
            min_df=c.min_df,
            max_word_features=c.max_word_features,
            max_char_features=c.max_char_features,
        )
        X = self.features_.fit_transform(docs, vocabulary_docs)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weights is not None and (weights.shape != (X.shape[0],) or not np.all(weights > 0)):
            raise InputError(tr(f"sample_weight 应为每条文档一个正数（共 {X.shape[0]} 条）；实际形状为 {weights.shape}。",
                                f"sample_weight needs one positive number per document ({X.shape[0]}); "
                                f"got shape {weights.shape}."))
        self.heads_, self._fitted_rows = {}, {}
        for head, labels in targets.items():
            labels = np.asarray(labels, dtype=object)
            rows = np.flatnonzero(labels != "")
            if rows.size == 0:
                raise InputError(tr(f"标签列 {head!r} 没有已标注的行。", f"Head {head!r} has no labelled rows."))
            try:
                self.heads_[head] = LinearHead(
                    C=c.C, class_weight=c.class_weight, calibration_folds=c.calibration_folds,
                    imbalance_share=c.imbalance_share, seed=c.seed,
                ).fit(X[rows], labels[rows], None if weights is None else weights[rows],
                      None if groups is None else np.asarray(groups)[rows])
                self._fitted_rows[head] = rows
            except InputError as error:
                raise InputError(tr(f"标签列 {head!r}：{error}", f"Head {head!r}: {error}")) from None
        self._stack()
        return self

    def cross_validated_proba(self, head: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The calibration folds' probabilities of ``head`` for the labelled documents ``fit`` saw (held-out
        probabilities when ``fit`` was given the near-copy groups); None after ``load`` or with fewer than two
        folds."""
        fitted = getattr(self, "_fitted_rows", {})
        if head not in fitted or self.heads_[head].cross_validated_ is None:
            return None
        proba = self.heads_[head].cross_validated_
        scored = ~np.isnan(proba[:, 0])
        return fitted[head][scored], proba[scored]

    def _stack(self) -> None:
        self._weights = np.vstack([h.coef_ for h in self.heads_.values()]).T.copy()
        self._bias = np.concatenate([h.intercept_ for h in self.heads_.values()])
        self._spans = {}
        start = 0
        for head, h in self.heads_.items():
            self._spans[head] = (start, start + len(h.classes_), h.temperature_)
            start += len(h.classes_)

    def predict_proba(self, docs: Sequence[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head for normalised documents (``title + ' ' + text``)."""
        scores = np.asarray(self.features_.transform(list(docs), canonical=False) @ self._weights) + self._bias
        return {head: softmax(scores[:, a:b] / t) for head, (a, b, t) in self._spans.items()}

    def explain(self, doc: str, head: str, label: str, k: int = 8) -> list[tuple[str, float]]:
        """The ``k`` n-grams of ``doc`` that pushed ``head`` most towards ``label`` (term, contribution)."""
        h = self.heads_[head]
        row = self.features_.transform([doc])
        weights = h.coef_[h.classes_.index(label)]
        contributions = row.data * weights[row.indices]
        order = np.argsort(-contributions)[:k]
        names = self.features_.feature_names
        return [(names[row.indices[i]], float(contributions[i])) for i in order if contributions[i] > 0]

    # persistence: arrays in one .npz (no pickle), vocabularies and labels in JSON
    def save(self, directory: Path) -> list[str]:
        arrays = {}
        for name, vectorizer in (("word", self.features_.word), ("char", self.features_.char)):
            for key, value in vectorizer.state().items():
                arrays[f"{name}_{key}"] = value
        for head, h in self.heads_.items():
            arrays[f"head_{head}_coef"] = h.coef_.astype(np.float16)
            arrays[f"head_{head}_intercept"] = h.intercept_
            arrays[f"head_{head}_temperature"] = np.array([h.temperature_])
        np.savez_compressed(directory / "linear.npz", **arrays)
        spec = {
            "tokenizer": self.features_.tokenizer,
            "word": {"params": self.features_.word.get_params(), "vocabulary": self.features_.word.vocabulary_},
            "char": {"params": self.features_.char.get_params(), "vocabulary": self.features_.char.vocabulary_},
            "heads": list(self.heads_),
        }
        (directory / "features.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        return ["linear.npz", "features.json"]

    @classmethod
    def load(cls, directory: Path, config: TrainConfig, labels: dict[str, list[str]]) -> LinearModel:
        spec = json.loads((directory / "features.json").read_text(encoding="utf-8"))
        with np.load(directory / "linear.npz", allow_pickle=False) as stored:
            arrays = dict(stored)
        model = cls(config)
        word, char = (
            NgramVectorizer.from_state(
                spec[name]["params"],
                {"keys": arrays[f"{name}_keys"], "idf": arrays[f"{name}_idf"]},
                spec[name]["vocabulary"],
            )
            for name in ("word", "char")
        )
        model.features_ = TextFeatures.from_parts(spec["tokenizer"], word, char)
        model.heads_ = {}
        for head in spec["heads"]:
            h = LinearHead(C=config.C, class_weight=config.class_weight, imbalance_share=config.imbalance_share, seed=config.seed)
            h.classes_ = list(labels[head])
            h.coef_ = arrays[f"head_{head}_coef"].astype(np.float32)
            h.intercept_ = arrays[f"head_{head}_intercept"]
            h.temperature_ = float(arrays[f"head_{head}_temperature"][0])
            model.heads_[head] = h
        model._stack()
        return model
