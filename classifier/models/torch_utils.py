"""What the torch-based code shares: lazy imports, device and precision, seeds, optimiser, padding."""

from __future__ import annotations

import random
from contextlib import nullcontext
from collections.abc import Sequence

import numpy as np

from classifier.errors import ConfigError, MissingDependencyError
from classifier.i18n import tr

INSTALL_COMMAND = 'pip install torch==2.13.0 && pip install "complaint-router[bert]"'
INSTALL_HINT = f"BERT models need torch and transformers: {INSTALL_COMMAND}"
MAX_GRAD_NORM = 1.0
IGNORE = -100
"""Label of a position or row that no loss is computed for."""
NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


def require_torch():
    """Import torch and transformers (quietly), or raise ``MissingDependencyError`` with the install command."""
    try:
        import torch
        from transformers.utils import logging as transformers_logging
    except ImportError as error:
        raise MissingDependencyError(tr(f"BERT 模型需要 torch 和 transformers：{INSTALL_COMMAND}（{error}）",
                                        f"{INSTALL_HINT} ({error})")) from None
    transformers_logging.set_verbosity_error()  # no load reports or progress bars on a screener's terminal
    transformers_logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars
    except ImportError:
        return torch
    disable_progress_bars()
    return torch


def resolve_device(name: str):
    torch = require_torch()
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(tr("指定了 device 'cuda'，但没有可用的 CUDA GPU；请改用 --device cpu 或 auto。",
                             "device 'cuda' was asked for but no CUDA GPU is available; use --device cpu or auto."))
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def autocast_dtype(precision: str, device):
    """The autocast dtype for ``precision`` on ``device`` (None = fp32); the CPU always runs fp32."""
    torch = require_torch()
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device, dtype):
    """``torch.autocast`` for ``dtype`` on ``device``, or a no-op context for fp32."""
    torch = require_torch()
    return torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None else nullcontext()


def grad_scaler(dtype):
    """A gradient scaler for fp16 training, None otherwise."""
    torch = require_torch()
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 else None


def seed_everything(seed: int) -> None:
    torch = require_torch()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def adamw(named_parameters: Sequence, learning_rate: float, weight_decay: float):
    """AdamW with weight decay on every parameter but biases and norms; returns (optimizer, parameters)."""
    torch = require_torch()
    named = list(named_parameters)
    groups = [
        {"params": [p for n, p in named if not n.endswith(NO_DECAY)], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n.endswith(NO_DECAY)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=learning_rate), [p for _, p in named]


def optimizer_step(optimizer, scheduler, scaler, parameters) -> None:
    """One update: unscale (fp16), clip gradients to ``MAX_GRAD_NORM``, step optimizer and schedule, zero grads."""
    torch = require_torch()
    if scaler:
        scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(parameters, MAX_GRAD_NORM)
    if scaler:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def pad(rows: Sequence[Sequence[int]], value: int):
    """Rows of token ids padded with ``value`` to the longest: (ids, attention mask) as long tensors."""
    torch = require_torch()
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask
