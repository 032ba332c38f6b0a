"""Model kinds behind one contract (``classifier.models.base.Model``) and the registry that finds them.

The rest of the package never switches on a model kind: it asks ``model_class(kind)`` and uses the contract.
Kinds are imported only when asked for, so routing with a linear model never imports torch.
"""

from __future__ import annotations

from importlib import import_module

from classifier.errors import ModelError
from classifier.i18n import tr

REGISTRY = {
    "linear": "classifier.models.linear:LinearModel",
    "bert": "classifier.models.bert:BertModel",
    "ensemble": "classifier.models.ensemble:EnsembleModel",
}
"""Model kind → ``module:class``; every class follows ``classifier.models.base.Model``."""

MODEL_KINDS = tuple(REGISTRY)


def model_class(kind: str):
    """The class of model kind ``kind`` (imported on first use)."""
    if kind not in REGISTRY:
        raise ModelError(tr(f"未知的模型类型 {kind!r}：应为 {', '.join(MODEL_KINDS)} 之一。",
                            f"Unknown model kind {kind!r}: expected one of {', '.join(MODEL_KINDS)}."))
    module, name = REGISTRY[kind].split(":")
    return getattr(import_module(module), name)
