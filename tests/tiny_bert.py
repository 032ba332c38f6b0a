"""A tiny randomly initialised Chinese BERT checkpoint, built offline (transformers' ``get_config()`` habit).

The WordPiece vocabulary is trained with ``tokenizers`` on bundled messages, splitting Chinese text into single
characters as BERT-Chinese does; the model has random weights. Nothing is downloaded.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pytest

TINY_SIZES = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 37}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def corpus(rows: int = 400) -> list[str]:
    """Normalised ``title + text`` of the first ``rows`` bundled routing messages."""
    from classifier.data import load_bundled
    from classifier.text import normalize

    frame = load_bundled("routing").head(rows)
    return [normalize(f"{t} {x}") for t, x in zip(frame["title"], frame["text"])]


def build_tokenizer(texts: Sequence[str], vocab_size: int = 2000):
    """A ``BertTokenizerFast`` with a WordPiece vocabulary trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer.decoder = decoders.WordPiece()
    return BertTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=512,
    )  # fmt: skip


def build_checkpoint(out: str | Path, texts: Sequence[str] | None = None, *, vocab_size: int = 2000, seed: int = 0,
                     with_mlm_head: bool = True, **sizes) -> Path:  # fmt: skip
    """Save a random BERT (``BertForMaskedLM`` by default) and its tokenizer to ``out``; returns ``out``.

    ``sizes`` override the tiny sizes (e.g. ``num_hidden_layers=12, hidden_size=768`` for a bert-base shape).
    """
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertModel

    out = Path(out)
    tokenizer = build_tokenizer(texts if texts is not None else corpus(), vocab_size)
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
                        **{**TINY_SIZES, **sizes})  # fmt: skip
    torch.manual_seed(seed)
    model = (BertForMaskedLM if with_mlm_head else BertModel)(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@lru_cache(maxsize=1)
def shared_checkpoint() -> Path:
    """One tiny checkpoint per test process, in a temporary folder removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="tiny_bert_"))
    atexit.register(shutil.rmtree, folder, True)
    return build_checkpoint(folder / "checkpoint")


def write_csv(frame, path: str | Path) -> Path:
    """``frame`` as a UTF-8 CSV file (for the CLI tests)."""
    frame.to_csv(path, index=False, encoding="utf-8")
    return Path(path)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread (and do not fight other processes for the cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_checkpoint() -> Path:
    return shared_checkpoint()
