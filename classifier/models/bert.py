"""A fine-tuned Chinese BERT: one shared encoder and one linear head per label column (multi-task).

Follows the model contract of ``classifier.models.base.Model``. Training uses AdamW with linear warm-up and decay, weight
decay, inverse-frequency class weights (clipped), gradient accumulation, early stopping on the macro-F1 of a small
internal validation split, bf16/fp16 autocast on CUDA and fixed seeds. Long messages keep their first two thirds
and last third of ``max_length`` tokens. Each head is calibrated by temperature scaling on the internal split.

torch and transformers are imported only when a BERT model is fitted or loaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.config import TrainConfig
from classifier.errors import ConfigError, InputError, ModelError
from classifier.i18n import tr
from classifier.models.base import Model, encode_labels
from classifier.models.linear import fit_temperature, softmax
from classifier.models.torch_utils import (
    IGNORE, adamw, autocast, autocast_dtype, grad_scaler, optimizer_step, pad, require_torch, resolve_device,
    seed_everything,
)  # fmt: skip

VALIDATION_SHARE = 0.1
"""Share of the training documents held out inside ``fit`` for early stopping and calibration."""
MIN_VALIDATION_DOCS = 50
"""Below this many documents ``fit`` holds nothing out: it trains every epoch and leaves temperatures at 1."""
CLASS_WEIGHT_RANGE = (0.1, 10.0)
HEAD_SHARE = 2 / 3
"""Share of the token budget kept from the start of a long message; the rest comes from its end."""
HEADS_FILE = "heads.safetensors"
SPEC_FILE = "bert.json"


def head_tail(ids: list[int], budget: int, head_share: float = HEAD_SHARE) -> list[int]:
    """``ids`` cut to ``budget`` tokens: the first ``head_share`` of the budget and the rest from the end."""
    if len(ids) <= budget:
        return ids
    head = int(budget * head_share)
    return ids[:head] + ids[len(ids) - (budget - head) :]


def class_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights ``n / (k * count)`` clipped to ``CLASS_WEIGHT_RANGE`` (unseen classes get the max)."""
    counts = np.bincount(codes, minlength=n_classes).astype(float)
    weights = np.divide(len(codes), n_classes * counts, out=np.full(n_classes, np.inf), where=counts > 0)
    return np.clip(weights, *CLASS_WEIGHT_RANGE)


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, predicted, labels=np.unique(y), average="macro", zero_division=0))


class BertModel(Model):
    """A shared transformer encoder with one calibrated linear head per label column."""

    kind = "bert"
    needs_torch = True

    # building blocks
    def initialise(self, labels: dict[str, list[str]], *, encoder=None, tokenizer=None) -> BertModel:
        """Load the base encoder and tokenizer (``config.base_model``) and create fresh heads for ``labels``.

        ``fit`` calls this; ``encoder``/``tokenizer`` objects may be passed instead (benchmarks with random weights).
        """
        torch = require_torch()
        from transformers import AutoModel, AutoTokenizer

        if encoder is None or tokenizer is None:
            if not self.config.base_model:
                raise ConfigError(tr("BERT 模型需要 base_model：Hugging Face 模型名或本地检查点文件夹。",
                                     "A BERT model needs base_model: a Hugging Face id or a local checkpoint folder."))
        self.device_ = resolve_device(self.config.device)
        self.tokenizer_ = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(self.config.base_model)
        if self.tokenizer_.pad_token_id is None:
            raise ModelError(tr(f"{self.config.base_model} 的分词器没有填充符（padding token）；请使用 BERT 类检查点。",
                                f"The tokenizer of {self.config.base_model} has no padding token; "
                                "use a BERT-style checkpoint."))
        self.encoder_ = encoder if encoder is not None else AutoModel.from_pretrained(self.config.base_model)
        hidden = self.encoder_.config.hidden_size
        self.labels_ = {head: list(names) for head, names in labels.items()}
        self.heads_ = torch.nn.ModuleList([torch.nn.Linear(hidden, len(names)) for names in self.labels_.values()])
        self.head_share_ = HEAD_SHARE
        dropout = getattr(self.encoder_.config, "hidden_dropout_prob", 0.1)
        self.dropout_ = torch.nn.Dropout(dropout if isinstance(dropout, float) else 0.1)
        self.temperatures_ = {head: 1.0 for head in labels}
        self.encoder_.to(self.device_)
        self.heads_.to(self.device_)
        return self

    def encode(self, docs: Sequence[str]) -> list[list[int]]:
        """Token ids per document with special tokens, long documents cut to head + tail of ``max_length``."""
        tok = self.tokenizer_
        budget = min(self.config.max_length, self._max_positions()) - 2
        ids = tok(list(docs), add_special_tokens=False, truncation=False, verbose=False)["input_ids"] if docs else []
        cls = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
        sep = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
        return [[cls] + head_tail(row, budget, self.head_share_) + [sep] for row in ids]

    def _max_positions(self) -> int:
        return int(getattr(self.encoder_.config, "max_position_embeddings", 512) or 512)

    def _batch(self, rows: list[list[int]]):
        ids, mask = pad(rows, self.tokenizer_.pad_token_id)
        return ids.to(self.device_, non_blocking=True), mask.to(self.device_, non_blocking=True)

    def _logits(self, ids, mask, *, train: bool) -> dict:
        hidden = self.encoder_(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        if train:
            hidden = self.dropout_(hidden)
        return {head: layer(hidden) for head, layer in zip(self.labels_, self.heads_)}

    def _raw_scores(self, encoded: list[list[int]]) -> dict[str, np.ndarray]:
        """Uncalibrated logits per head, computed in length-sorted batches and returned in input order."""
        torch = require_torch()
        n = len(encoded)
        out = {head: np.zeros((n, len(names)), dtype=np.float32) for head, names in self.labels_.items()}
        if n == 0:
            return out
        order = np.argsort([len(r) for r in encoded], kind="stable")
        size = max(1, self.config.batch_size)
        dtype = autocast_dtype(self.config.precision, self.device_)
        self.encoder_.eval()
        self.heads_.eval()
        with torch.inference_mode(), autocast(self.device_, dtype):
            for start in range(0, n, size):
                rows = order[start : start + size]
                logits = self._logits(*self._batch([encoded[i] for i in rows]), train=False)
                for head, value in logits.items():
                    out[head][rows] = value.float().cpu().numpy()
        return out

    # estimator API
    def fit(self, docs: Sequence[str], targets: dict[str, Sequence[str]], *, vocabulary_docs: Sequence[str] = ()) -> BertModel:
        """Fine-tune the encoder and heads on ``docs``; empty labels are masked out of that head's loss."""
        torch = require_torch()
        from transformers import get_linear_schedule_with_warmup

        c = self.config
        docs = list(docs)
        labels, codes = {}, {}
        for head, column in targets.items():
            if len(column) != len(docs):
                raise ValueError(f"Head {head!r} has {len(column)} labels for {len(docs)} documents.")
            labels[head], codes[head] = encode_labels(column, head=head, missing=IGNORE)
        if not labels:
            raise InputError(tr("没有可训练的标签列：请至少指定一个训练目标。",
                                "No label columns to train: pass at least one target."))
        seed_everything(c.seed)
        self.initialise(labels)
        encoded = self.encode(docs)

        rng = np.random.default_rng(c.seed)
        order = rng.permutation(len(docs))
        n_valid = int(round(len(docs) * VALIDATION_SHARE)) if len(docs) >= MIN_VALIDATION_DOCS else 0
        valid, train = np.sort(order[:n_valid]), order[n_valid:]

        losses = {}
        for head, y in codes.items():
            seen = y[train][y[train] != IGNORE]
            weight = class_weights(seen, len(labels[head])) if c.class_weight == "balanced" else np.ones(len(labels[head]))
            losses[head] = torch.nn.CrossEntropyLoss(
                weight=torch.tensor(weight, dtype=torch.float32, device=self.device_), ignore_index=IGNORE
            )
        named = list(self.encoder_.named_parameters()) + list(self.heads_.named_parameters())
        optimizer, parameters = adamw(named, c.learning_rate, c.weight_decay)
        size = max(1, c.batch_size)
        accumulation = max(1, c.gradient_accumulation)
        batches_per_epoch = -(-len(train) // size)
        updates = max(1, c.epochs * -(-batches_per_epoch // accumulation))
        scheduler = get_linear_schedule_with_warmup(optimizer, int(round(updates * c.warmup_ratio)), updates)
        dtype = autocast_dtype(c.precision, self.device_)
        scaler = grad_scaler(dtype)
        targets_t = {head: torch.tensor(y, device=self.device_) for head, y in codes.items()}

        best, best_state, stale = -1.0, None, 0
        self.history_ = []
        for epoch in range(c.epochs):
            self.encoder_.train()
            self.heads_.train()
            shuffled = train[rng.permutation(len(train))]
            total = 0.0
            for step in range(batches_per_epoch):
                rows = shuffled[step * size : (step + 1) * size]
                ids, mask = self._batch([encoded[i] for i in rows])
                with autocast(self.device_, dtype):
                    logits = self._logits(ids, mask, train=True)
                index = torch.as_tensor(rows, device=self.device_)
                loss = 0.0
                for head, value in logits.items():
                    y = targets_t[head][index]
                    if bool((y != IGNORE).any()):
                        loss = loss + losses[head](value.float(), y)
                if isinstance(loss, float):
                    continue
                loss = loss / accumulation
                (scaler.scale(loss) if scaler else loss).backward()
                total += float(loss.detach()) * accumulation
                if (step + 1) % accumulation == 0 or step + 1 == batches_per_epoch:
                    optimizer_step(optimizer, scheduler, scaler, parameters)
            record = {"epoch": epoch + 1, "loss": round(total / max(batches_per_epoch, 1), 5)}
            if n_valid:
                scores = self._raw_scores([encoded[i] for i in valid])
                record["valid_macro_f1"] = score = self._validation_f1(scores, {h: y[valid] for h, y in codes.items()})
                if score > best + 1e-9:
                    best, stale = score, 0
                    best_state = self._state_copy()
                else:
                    stale += 1
            self.history_.append(record)
            if n_valid and stale >= max(1, c.patience):
                break
        if best_state is not None:
            self.encoder_.load_state_dict(best_state[0])
            self.heads_.load_state_dict(best_state[1])
        if n_valid:
            scores = self._raw_scores([encoded[i] for i in valid])
            for head, y in codes.items():
                rows = np.flatnonzero(y[valid] != IGNORE)
                if rows.size >= 2:
                    self.temperatures_[head] = fit_temperature(scores[head][rows].astype(np.float64), y[valid][rows])
        self.encoder_.eval()
        self.heads_.eval()
        return self

    def _state_copy(self):
        return tuple(
            {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
            for module in (self.encoder_, self.heads_)
        )

    @staticmethod
    def _validation_f1(scores: dict[str, np.ndarray], codes: dict[str, np.ndarray]) -> float:
        values = []
        for head, y in codes.items():
            rows = np.flatnonzero(y != IGNORE)
            if rows.size:
                values.append(macro_f1(y[rows], scores[head][rows].argmax(axis=1)))
        return round(float(np.mean(values)), 6) if values else 0.0

    def predict_proba(self, docs: Sequence[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head for normalised documents (``title + ' ' + text``), input order."""
        scores = self._raw_scores(self.encode(list(docs)))
        return {head: softmax(s.astype(np.float64) / self.temperatures_[head]) for head, s in scores.items()}

    # persistence: encoder and tokenizer with save_pretrained (safetensors), heads in safetensors, spec in JSON
    def save(self, directory: Path) -> list[str]:
        from safetensors.torch import save_file

        directory = Path(directory)
        self.encoder_.save_pretrained(directory / "encoder")
        self.tokenizer_.save_pretrained(directory / "tokenizer")
        tensors = {}
        for head, layer in zip(self.labels_, self.heads_):
            tensors[f"{head}.weight"] = layer.weight.detach().float().cpu().contiguous()
            tensors[f"{head}.bias"] = layer.bias.detach().float().cpu().contiguous()
        save_file(tensors, directory / HEADS_FILE)
        spec = {"heads": list(self.labels_), "temperatures": self.temperatures_, "head_share": self.head_share_,
                "history": getattr(self, "history_", [])}  # fmt: skip
        (directory / SPEC_FILE).write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
        written = [p for sub in ("encoder", "tokenizer") for p in sorted((directory / sub).rglob("*")) if p.is_file()]
        return [p.relative_to(directory).as_posix() for p in written] + [HEADS_FILE, SPEC_FILE]

    @classmethod
    def load(cls, directory: Path, config: TrainConfig, labels: dict[str, list[str]]) -> BertModel:
        torch = require_torch()
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer


        directory = Path(directory)
        for required in ("encoder", "tokenizer", HEADS_FILE, SPEC_FILE):
            if not (directory / required).exists():
                raise ModelError(tr(f"BERT 模型缺少文件：{directory / required}",
                                    f"BERT model file missing: {directory / required}"))
        spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
        model = cls(config)
        # a model trained on a GPU still loads where there is none
        model.device_ = resolve_device("auto" if config.device == "cuda" else config.device)
        model.tokenizer_ = AutoTokenizer.from_pretrained(directory / "tokenizer", local_files_only=True)
        model.encoder_ = AutoModel.from_pretrained(directory / "encoder", local_files_only=True)
        model.labels_ = {head: list(labels[head]) for head in spec["heads"]}
        tensors = load_file(directory / HEADS_FILE)
        heads = []
        for head, names in model.labels_.items():
            weight, bias = tensors[f"{head}.weight"], tensors[f"{head}.bias"]
            if weight.shape[0] != len(names):
                raise ModelError(tr(f"{directory / HEADS_FILE}：标签列 {head!r} 有 {weight.shape[0]} 个输出，"
                                    f"但 labels.json 列出 {len(names)} 个标签。",
                                    f"{directory / HEADS_FILE}: head {head!r} has {weight.shape[0]} outputs "
                                    f"but labels.json lists {len(names)} labels."))  # fmt: skip
            layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
            layer.load_state_dict({"weight": weight, "bias": bias})
            heads.append(layer)
        model.heads_ = torch.nn.ModuleList(heads)
        model.head_share_ = float(spec.get("head_share", HEAD_SHARE))
        model.dropout_ = torch.nn.Dropout(0.0)
        model.temperatures_ = {head: float(spec["temperatures"][head]) for head in model.labels_}
        model.history_ = spec.get("history", [])
        model.encoder_.to(model.device_).eval()
        model.heads_.to(model.device_).eval()
        return model
