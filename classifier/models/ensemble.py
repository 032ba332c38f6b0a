"""A linear + BERT ensemble: per-head weighted average of the two models' calibrated probabilities.

For a head both models have, ``p = w * p_linear + (1 - w) * p_bert`` over the union of their labels, with ``w``
chosen from ``WEIGHT_GRID`` to maximise accuracy on the rows ``fit`` is given (the two parts are trained
already, on other rows: ``fit`` loads them from ``config.linear_model`` and ``config.bert_model`` and only tunes
the weights); a head only one model has is passed through. Saved as one artifact: the two sub-models in ``linear/`` and ``bert/`` plus ``ensemble.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.config import TrainConfig
from classifier.errors import ModelError
from classifier.i18n import tr
from classifier.models.base import Model

WEIGHT_GRID = tuple(round(0.1 * i, 1) for i in range(11))
SPEC_FILE = "ensemble.json"
PARTS = ("linear", "bert")


def _part(routing_or_model):
    """The head model inside a loaded artifact (``RoutingModel``) or the model itself."""
    return getattr(routing_or_model, "model", routing_or_model)


class EnsembleModel(Model):
    """Weighted average of a ``LinearModel`` and a ``BertModel`` per shared head."""

    kind = "ensemble"
    needs_torch = True

    def fit(self, docs: Sequence[str], targets: dict[str, Sequence[str]], *, vocabulary_docs: Sequence[str] = ()):
        """Load the two trained parts named in the config and tune the per-head weights on ``docs``."""
        from classifier.artifact import load_model

        self._attach(load_model(self.config.linear_model), load_model(self.config.bert_model))
        return self.tune(docs, targets)

    @classmethod
    def from_models(cls, config: TrainConfig, linear, bert) -> EnsembleModel:
        """An ensemble of two trained models (or loaded artifacts), weights 0.5 until ``tune`` is called."""
        return cls(config)._attach(linear, bert)

    def _attach(self, linear, bert) -> EnsembleModel:
        self.linear_, self.bert_ = _part(linear), _part(bert)
        if getattr(self.linear_, "kind", None) != "linear" or getattr(self.bert_, "kind", None) != "bert":
            linear, bert = getattr(self.linear_, "kind", "?"), getattr(self.bert_, "kind", "?")
            raise ModelError(tr(
                f"集成模型需要一个线性模型和一个 BERT 模型；实际为 {linear!r} 和 {bert!r}：请检查 --linear-model 和 --bert-model。",
                f"An ensemble needs a linear and a BERT model; got {linear!r} and {bert!r}: "
                "check --linear-model and --bert-model.",
            ))
        self.part_configs_ = {name: part.config.to_dict() for name, part in zip(PARTS, (self.linear_, self.bert_))}
        self._align()
        self.weights_ = {head: 0.5 for head in self.shared_heads}
        return self

    def _align(self) -> None:
        a, b = self.linear_.labels, self.bert_.labels
        self.labels_ = {}
        for head in list(a) + [h for h in b if h not in a]:
            self.labels_[head] = sorted(set(a.get(head, [])) | set(b.get(head, [])))

    @property
    def shared_heads(self) -> list[str]:
        return [h for h in self.labels_ if h in self.linear_.labels and h in self.bert_.labels]

    def _parts_proba(self, docs: Sequence[str]) -> tuple[dict, dict]:
        """Both models' probabilities, columns spread onto the ensemble's label order."""
        docs = list(docs)
        out = []
        for part in (self.linear_, self.bert_):
            probs, own = part.predict_proba(docs), part.labels
            spread = {}
            for head, p in probs.items():
                full = np.zeros((len(docs), len(self.labels_[head])))
                full[:, [self.labels_[head].index(label) for label in own[head]]] = p
                spread[head] = full
            out.append(spread)
        return out[0], out[1]

    def tune(self, docs: Sequence[str], targets: dict[str, Sequence[str]]) -> EnsembleModel:
        """Choose each shared head's linear weight on labelled rows (``""`` = unlabelled), by accuracy."""
        linear, bert = self._parts_proba(docs)
        self.validation_accuracy_ = {}
        for head in self.shared_heads:
            if head not in targets:
                continue
            gold = np.asarray(targets[head], dtype=object)
            rows = np.flatnonzero(gold != "")
            if rows.size == 0:
                continue
            names = np.array(self.labels_[head], dtype=object)
            scored = []
            for w in WEIGHT_GRID:
                predicted = names[(w * linear[head][rows] + (1 - w) * bert[head][rows]).argmax(axis=1)]
                scored.append((float(np.mean(predicted == gold[rows])), -abs(w - 0.5), w))
            accuracy, _, self.weights_[head] = max(scored)
            self.validation_accuracy_[head] = round(accuracy, 4)
        return self

    def predict_proba(self, docs: Sequence[str]) -> dict[str, np.ndarray]:
        linear, bert = self._parts_proba(docs)
        out = {}
        for head in self.labels_:
            if head in linear and head in bert:
                w = self.weights_[head]
                out[head] = w * linear[head] + (1 - w) * bert[head]
            else:
                out[head] = linear[head] if head in linear else bert[head]
        return out

    def explain(self, doc: str, head: str, label: str, k: int = 8) -> list[tuple[str, float]]:
        """The linear model's n-gram contributions (the BERT part has no term weights)."""
        if label not in self.linear_.labels.get(head, []):
            return []
        return self.linear_.explain(doc, head, label, k)

    # persistence: each part in its own subfolder, weights and part labels/configs in ensemble.json
    def save(self, directory: Path) -> list[str]:
        directory = Path(directory)
        files = []
        for name, part in zip(PARTS, (self.linear_, self.bert_)):
            (directory / name).mkdir()
            files += [f"{name}/{f}" for f in part.save(directory / name)]
        spec = {
            "weights": self.weights_,
            "weight_grid": list(WEIGHT_GRID),
            "validation_accuracy": getattr(self, "validation_accuracy_", {}),
            "parts": {name: {"labels": part.labels, "config": self.part_configs_[name]}
                      for name, part in zip(PARTS, (self.linear_, self.bert_))},
        }  # fmt: skip
        (directory / SPEC_FILE).write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
        return files + [SPEC_FILE]

    @classmethod
    def load(cls, directory: Path, config: TrainConfig, labels: dict[str, list[str]]) -> EnsembleModel:
        from classifier.models import model_class

        directory = Path(directory)
        if not (directory / SPEC_FILE).exists():
            raise ModelError(tr(f"集成模型缺少文件：{directory / SPEC_FILE}",
                                f"Ensemble model file missing: {directory / SPEC_FILE}"))
        spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
        parts = {}
        for name in PARTS:
            stored = spec["parts"][name]
            parts[name] = model_class(name).load(directory / name, TrainConfig.from_dict(stored["config"]), stored["labels"])
        model = cls(config)
        model.linear_, model.bert_ = parts["linear"], parts["bert"]
        model.part_configs_ = {name: spec["parts"][name]["config"] for name in PARTS}
        model._align()
        if model.labels_ != {head: list(names) for head, names in labels.items()}:
            raise ModelError(tr(f"{directory / SPEC_FILE}：子模型的标签与 labels.json 不一致。",
                                f"{directory / SPEC_FILE}: the sub-models' labels do not match labels.json."))
        model.weights_ = {head: float(w) for head, w in spec["weights"].items()}
        model.validation_accuracy_ = spec.get("validation_accuracy", {})
        return model
