"""Domain-adaptive pre-training: continue masked-LM training of a BERT on unlabelled messages.

Masking is by whole jieba word, as in Chinese-BERT-wwm: each text is segmented with ``classifier.text.segment``;
words are drawn until about ``mask_probability`` of the tokens are covered, and every token of a drawn word is
replaced together (80% of words by [MASK], 10% by random tokens, 10% kept). The output folder (model +
tokenizer, ``save_pretrained``) can be passed as ``--base-model`` to ``train``.
"""

from __future__ import annotations

import bisect
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.errors import ConfigError, InputError, ModelError
from classifier.i18n import tr
from classifier.models.torch_utils import (
    IGNORE, adamw, autocast, autocast_dtype, grad_scaler, optimizer_step, pad, require_torch, resolve_device,
    seed_everything,
)  # fmt: skip
from classifier.text import segment


def word_index(text: str, offsets: Sequence[tuple[int, int]], special: Sequence[int]) -> list[int | None]:
    """The jieba word each token belongs to (by the token's first character), None for special tokens."""
    starts, position = [], 0
    for word in segment(text):
        found = text.find(word, position)
        if found >= 0:
            starts.append(found)
            position = found + len(word)
    return [None if is_special or end <= start else bisect.bisect_right(starts, start) - 1
            for (start, end), is_special in zip(offsets, special)]  # fmt: skip


def mask_whole_words(
    input_ids: Sequence[int],
    words: Sequence[int | None],
    *,
    mask_token_id: int,
    vocab_size: int,
    probability: float,
    rng: np.random.Generator,
) -> tuple[list[int], list[int]]:
    """Masked ids and MLM labels (``-100`` where nothing is predicted) with whole-word masking.

    ``words[i]`` is the word of token ``i`` (None: never masked). Words are drawn in random order until
    ``round(probability * tokens)`` tokens are covered (at least one word); all tokens of a drawn word share one
    fate: 80% [MASK], 10% random tokens, 10% unchanged.
    """
    ids, labels = list(input_ids), [IGNORE] * len(input_ids)
    groups: dict[int, list[int]] = {}
    for i, word in enumerate(words):
        if word is not None:
            groups.setdefault(word, []).append(i)
    if not groups:
        return ids, labels
    budget = max(1, int(round(probability * sum(len(g) for g in groups.values()))))
    covered = 0
    for key in rng.permutation(list(groups)):
        tokens = groups[int(key)]
        if covered and covered + len(tokens) > budget:
            continue
        covered += len(tokens)
        fate = rng.random()
        for i in tokens:
            labels[i] = ids[i]
            if fate < 0.8:
                ids[i] = mask_token_id
            elif fate < 0.9:
                ids[i] = int(rng.integers(vocab_size))
        if covered >= budget:
            break
    return ids, labels


def pretrain(
    base_model: str,
    texts: Sequence[str],
    out: str | Path,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    max_length: int = 256,
    learning_rate: float = 5e-5,
    mask_probability: float = 0.15,
    seed: int = 13,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    device: str = "auto",
    precision: str = "auto",
) -> dict:
    """Continue masked-LM training of ``base_model`` on ``texts`` (normalised) and save it to ``out``."""
    require_torch()
    from transformers import AutoModelForMaskedLM, AutoTokenizer, get_linear_schedule_with_warmup

    if not 0 < mask_probability < 1:
        raise ConfigError(tr(f"mask_probability 应在 (0, 1) 之间，实际为 {mask_probability}。",
                             f"mask_probability must be in (0, 1), got {mask_probability}."))
    if epochs < 1 or batch_size < 1:
        raise ConfigError(tr(f"epochs 和 batch_size 至少为 1，实际为 {epochs} 和 {batch_size}。",
                             f"epochs and batch_size must be at least 1, got {epochs} and {batch_size}."))
    if max_length < 16:
        raise ConfigError(tr(f"max_length 至少为 16，实际为 {max_length}。",
                             f"max_length must be at least 16, got {max_length}."))
    start_time = time.perf_counter()
    seed_everything(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if tokenizer.mask_token_id is None or not tokenizer.is_fast:
        raise ModelError(tr(f"掩码语言模型训练需要带掩码符（mask token）的快速分词器，{base_model} 没有。",
                            f"{base_model} needs a fast tokenizer with a mask token for masked-LM training."))
    model = AutoModelForMaskedLM.from_pretrained(base_model)
    limit = min(max_length, int(getattr(model.config, "max_position_embeddings", 512) or 512))

    examples = []
    for text in texts:
        if not text or not text.strip():
            continue
        encoded = tokenizer(text, truncation=True, max_length=limit, return_offsets_mapping=True,
                            return_special_tokens_mask=True)  # fmt: skip
        words = word_index(text, encoded["offset_mapping"], encoded["special_tokens_mask"])
        if any(w is not None for w in words):
            examples.append((encoded["input_ids"], words))
    if not examples:
        raise InputError(tr("没有可用于预训练的文本：所有文本都为空。",
                            "No usable text to pre-train on: every text was empty."))

    target = resolve_device(device)
    dtype = autocast_dtype(precision, target)
    model.to(target)
    optimizer, parameters = adamw(model.named_parameters(), learning_rate, weight_decay)
    steps_per_epoch = math.ceil(len(examples) / batch_size)
    total_steps = epochs * steps_per_epoch
    scheduler = get_linear_schedule_with_warmup(optimizer, int(round(total_steps * warmup_ratio)), total_steps)
    scaler = grad_scaler(dtype)
    rng = np.random.default_rng(seed)
    pad_id, vocab = tokenizer.pad_token_id, len(tokenizer)
    losses, masked_tokens = [], 0
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(examples))
        for step in range(steps_per_epoch):
            batch = [examples[i] for i in order[step * batch_size : (step + 1) * batch_size]]
            rows = [mask_whole_words(ids, words, mask_token_id=tokenizer.mask_token_id, vocab_size=vocab,
                                     probability=mask_probability, rng=rng) for ids, words in batch]  # fmt: skip
            ids, attention = pad([row_ids for row_ids, _ in rows], pad_id)
            labels, _ = pad([row_labels for _, row_labels in rows], IGNORE)
            masked_tokens += int((labels != IGNORE).sum())
            with autocast(target, dtype):
                loss = model(input_ids=ids.to(target), attention_mask=attention.to(target), labels=labels.to(target)).loss
            (scaler.scale(loss) if scaler else loss).backward()
            optimizer_step(optimizer, scheduler, scaler, parameters)
            losses.append(float(loss.detach()))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    stats = {
        "base_model": str(base_model),
        "texts": len(examples),
        "epochs": epochs,
        "steps": len(losses),
        "masked_tokens": masked_tokens,
        "first_loss": round(losses[0], 4),
        "final_loss": round(float(np.mean(losses[-max(1, steps_per_epoch):])), 4),
        "seconds": round(time.perf_counter() - start_time, 2),
        "out": str(out),
    }
    (out / "pretrain_stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=1), encoding="utf-8")
    return stats

