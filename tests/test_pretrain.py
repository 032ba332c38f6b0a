"""Masked-LM pre-training with jieba whole-word masking, on a tiny random checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_thread")

from conftest import tiny_config, tiny_frame  # noqa: E402
from tiny_bert import corpus, write_csv  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from classifier.models.bert import BertModel
from classifier.models.torch_utils import IGNORE  # noqa: E402
from classifier.cli import app  # noqa: E402
from classifier.pretrain import mask_whole_words, pretrain, word_index  # noqa: E402
from classifier.text import normalize, segment  # noqa: E402

MASK, VOCAB = 9999, 2000  # a mask id outside the random-token range keeps fates unambiguous






def test_every_token_of_a_chosen_word_is_masked_together():
    # 10 words of 1..4 tokens each, then two special tokens that must never be chosen
    words = [w for w in range(10) for _ in range(1 + w % 4)] + [None, None]
    ids = list(range(100, 100 + len(words)))
    for seed in range(200):
        masked, labels = mask_whole_words(ids, words, mask_token_id=MASK, vocab_size=VOCAB, probability=0.15,
                                          rng=np.random.default_rng(seed))  # fmt: skip
        chosen = {words[i] for i, label in enumerate(labels) if label != IGNORE}
        assert chosen and None not in chosen
        for word in chosen:
            positions = [i for i, w in enumerate(words) if w == word]
            assert all(labels[i] == ids[i] for i in positions)  # every token of the word is predicted
            fates = {"mask" if masked[i] == MASK else "keep" if masked[i] == ids[i] else "random" for i in positions}
            assert len(fates) == 1 or fates <= {"random", "keep"}  # one fate per word ([MASK] never partial)
        for i, label in enumerate(labels):
            if label == IGNORE:
                assert masked[i] == ids[i]


def test_masking_rate_and_80_10_10_split():
    rng = np.random.default_rng(0)
    words = list(range(200))  # one token per word: the per-word fate is the per-token fate
    ids = list(range(100, 300))
    counts = {"mask": 0, "other": 0, "total": 0}
    for _ in range(200):
        masked, labels = mask_whole_words(ids, words, mask_token_id=MASK, vocab_size=VOCAB, probability=0.15, rng=rng)
        chosen = [i for i, label in enumerate(labels) if label != IGNORE]
        assert len(chosen) == 30
        counts["total"] += len(chosen)
        counts["mask"] += sum(masked[i] == MASK for i in chosen)
    assert 0.75 < counts["mask"] / counts["total"] < 0.85


def test_tokens_map_to_their_jieba_words(tiny_checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    text = normalize("小区物业公司乱收停车费，请住建局查处。")
    encoded = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    words = word_index(text, encoded["offset_mapping"], encoded["special_tokens_mask"])
    segments = segment(text)
    assert words[0] is None and words[-1] is None
    for (start, end), word in zip(encoded["offset_mapping"][1:-1], words[1:-1]):
        assert text[start:end] in segments[word]
    assert len({w for w in words if w is not None}) == len([s for s in segments if s.strip()])


def test_pretrain_output_works_as_a_base_model(tiny_checkpoint, tmp_path):
    out = tmp_path / "adapted"
    stats = pretrain(str(tiny_checkpoint), corpus(40), out, epochs=1, batch_size=8, max_length=64,
                     learning_rate=1e-3, seed=1)  # fmt: skip
    assert stats["texts"] == 40 and stats["steps"] == 5 and stats["masked_tokens"] > 0
    assert np.isfinite(stats["final_loss"])
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    frame = tiny_frame()
    docs = [normalize(f"{t} {x}") for t, x in zip(frame["title"], frame["text"])]
    config = tiny_config(model="bert", base_model=str(out), epochs=1, max_length=64, batch_size=8, device="cpu")
    model = BertModel(config).fit(docs, {"department": frame["department"].to_numpy(dtype=object)})
    assert model.predict_proba(docs[:2])["department"].shape == (2, 4)


def test_pretrain_command(tiny_checkpoint, tmp_path):
    from classifier.data import load_bundled

    data = write_csv(load_bundled("unlabelled").head(24)[["title", "text"]], tmp_path / "unlabelled.csv")
    out = tmp_path / "adapted"
    result = CliRunner().invoke(app, ["pretrain", "--base-model", str(tiny_checkpoint), "--data", str(data),
                                      "--out", str(out), "--batch-size", "8", "--max-length", "48"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "checkpoint written to" in result.stdout
    assert json.loads((out / "pretrain_stats.json").read_text(encoding="utf-8"))["steps"] == 3


def test_pretrain_rejects_bad_settings(tiny_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="mask_probability"):
        pretrain(str(tiny_checkpoint), ["小区电梯坏了"], tmp_path, mask_probability=1.5)
    with pytest.raises(ValueError, match="No usable text"):
        pretrain(str(tiny_checkpoint), ["", "  "], tmp_path, max_length=32)
