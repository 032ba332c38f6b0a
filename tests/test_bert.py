"""The fine-tuned BERT path on a tiny random checkpoint: fit, overfit, save/load, CLI, tampering, lazy torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_thread")

from conftest import tiny_config, tiny_frame  # noqa: E402
from tiny_bert import write_csv  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from classifier.artifact import ModelError, load_model  # noqa: E402
from classifier.models.bert import BertModel, class_weights, head_tail
from classifier.models.torch_utils import INSTALL_HINT, require_torch  # noqa: E402
from classifier.cli import app  # noqa: E402
from classifier.text import normalize  # noqa: E402

HEADS = ("screening", "department", "urgent")
FAST = {"max_length": 64, "batch_size": 8, "warmup_ratio": 0.1, "device": "cpu"}






def tiny_docs_targets():
    frame = tiny_frame()
    docs = [normalize(f"{t} {x}") for t, x in zip(frame["title"], frame["text"])]
    targets = {h: frame[h].to_numpy(dtype=object).copy() for h in HEADS}
    targets["urgent"][[1, 5]] = ""  # unlabelled rows are masked out of that head's loss
    return docs, targets


@pytest.fixture(scope="module")
def fitted(tiny_checkpoint):
    docs, targets = tiny_docs_targets()
    config = tiny_config(model="bert", base_model=str(tiny_checkpoint), epochs=25, learning_rate=5e-3, **FAST)
    return BertModel(config).fit(docs, targets), docs, targets


@pytest.fixture(scope="module")
def bert_artifact(tiny_checkpoint, tmp_path_factory) -> Path:
    """A BERT artifact trained end to end through ``complaint-router train --model bert``."""
    folder = tmp_path_factory.mktemp("bert_cli")
    data = write_csv(tiny_frame(), folder / "train.csv")
    result = CliRunner().invoke(app, [
        "train", "--model", "bert", "--base-model", str(tiny_checkpoint), "--data", str(data),
        "--out", str(folder / "model"), "--epochs", "6", "--batch-size", "8", "--max-length", "64",
        "--learning-rate", "2e-3",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "model"


def test_head_tail_keeps_start_and_end():
    ids = list(range(100))
    cut = head_tail(ids, 30)
    assert len(cut) == 30 and cut[:20] == list(range(20)) and cut[20:] == list(range(90, 100))
    assert head_tail(ids[:10], 30) == ids[:10]


def test_class_weights_are_inverse_frequency_and_clipped():
    weights = class_weights(np.array([0] * 90 + [1] * 10 + [2] * 0), 3)
    assert weights[1] > weights[0]
    assert weights[1] == pytest.approx(100 / (3 * 10))
    assert weights[2] == 10.0  # unseen class: clipped maximum


def test_long_messages_are_cut_to_head_and_tail(fitted):
    model, _, _ = fitted
    encoded = model.encode(["小区物业" * 200 + " 结尾电梯"])[0]
    assert len(encoded) == model.config.max_length
    assert encoded[0] == model.tokenizer_.cls_token_id and encoded[-1] == model.tokenizer_.sep_token_id
    tail = model.tokenizer_.convert_ids_to_tokens(encoded[-4:-1])
    assert tail == ["尾", "电", "梯"]


def test_overfits_the_tiny_corpus(fitted):
    model, docs, targets = fitted
    probs = model.predict_proba(docs)
    for head in HEADS:
        assert model.labels[head] == sorted(set(targets[head]) - {""})
        assert probs[head].shape == (len(docs), len(model.labels[head]))
        np.testing.assert_allclose(probs[head].sum(axis=1), 1.0, rtol=1e-6)
    predicted = np.array(model.labels["department"])[probs["department"].argmax(axis=1)]
    assert np.mean(predicted == targets["department"]) >= 0.9


def test_save_load_round_trip_gives_identical_probabilities(fitted, tmp_path):
    model, docs, _ = fitted
    files = model.save(tmp_path)
    assert {"encoder/model.safetensors", "encoder/config.json", "heads.safetensors"} <= set(files)
    assert any(f.startswith("tokenizer/") for f in files)
    assert all((tmp_path / f).is_file() for f in files)
    loaded = BertModel.load(tmp_path, model.config, model.labels)
    before, after = model.predict_proba(docs), loaded.predict_proba(list(reversed(docs)))
    for head in HEADS:  # reversed order puts rows in other padded batches: equal up to float rounding
        np.testing.assert_allclose(before[head], after[head][::-1], rtol=0, atol=1e-6)
    assert {h: p.shape for h, p in loaded.predict_proba([]).items()} == {h: (0, len(model.labels[h])) for h in HEADS}


def test_internal_validation_early_stopping_and_calibration(tiny_checkpoint):
    docs, targets = tiny_docs_targets()
    docs, targets = docs * 4, {h: np.tile(t, 4) for h, t in targets.items()}  # enough rows for a held-out split
    config = tiny_config(model="bert", base_model=str(tiny_checkpoint), epochs=4, patience=1, learning_rate=5e-3,
                         gradient_accumulation=2, class_weight=None, **FAST)  # fmt: skip
    model = BertModel(config).fit(docs, targets)
    assert 1 <= len(model.history_) <= 4
    assert all("valid_macro_f1" in record for record in model.history_)
    assert all(t > 0 for t in model.temperatures_.values())


def test_a_head_with_one_label_is_an_error_naming_it(tiny_checkpoint):
    docs, targets = tiny_docs_targets()
    targets["urgent"] = np.array(["否"] * len(docs), dtype=object)
    config = tiny_config(model="bert", base_model=str(tiny_checkpoint), **FAST)
    with pytest.raises(ValueError, match="'urgent'.*at least two labels"):
        BertModel(config).fit(docs, targets)


def test_missing_torch_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r'complaint-router\[bert\]'):
        require_torch()
    assert "pip install" in INSTALL_HINT


def test_cli_train_writes_a_bert_artifact(bert_artifact):
    meta = json.loads((bert_artifact / "metadata.json").read_text(encoding="utf-8"))
    assert meta["model_type"] == "bert"
    assert "encoder/model.safetensors" in meta["files"] and "heads.safetensors" in meta["files"]
    assert meta["library_versions"]["torch"] != "not installed"
    assert set(load_model(bert_artifact).labels) >= {"screening", "department"}


def test_cli_route_evaluate_predict_on_a_bert_artifact(bert_artifact, tmp_path):
    runner = CliRunner()
    data = write_csv(tiny_frame(), tmp_path / "in.csv")
    out = tmp_path / "routed.csv"
    result = runner.invoke(app, ["route", str(data), "-o", str(out), "--model", str(bert_artifact)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    routed = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(routed) == len(tiny_frame()) and routed["route_status"].eq("ok").all()
    assert routed["department"].isin(load_model(bert_artifact).labels["department"] + [""]).all()

    result = runner.invoke(app, ["evaluate", "--data", str(data), "--model", str(bert_artifact), "--json"])
    assert result.exit_code == 0, result.output
    assert "department" in json.loads(result.stdout)["heads"]

    result = runner.invoke(app, ["predict", "公司拖欠工资三个月", "--model", str(bert_artifact), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["route_status"] == "ok"


def test_a_tampered_bert_file_is_a_clear_model_error(bert_artifact, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(bert_artifact, copy)
    weights = copy / "encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"encoder[/\\]model\.safetensors.*checksum"):
        load_model(copy)
    result = CliRunner().invoke(app, ["predict", "小区电梯坏了", "--model", str(copy)])
    assert result.exit_code == 2 and "model.safetensors" in result.stderr


def test_routing_with_a_linear_model_never_imports_torch(tiny_model_dir):
    script = f"""
import sys
from typer.testing import CliRunner
import classifier.cli
from classifier.artifact import load_model
from classifier.router import route_rows
model = load_model({str(tiny_model_dir)!r})
out = route_rows(model, ["工资"], ["公司拖欠工资三个月，老板不发"])
assert out["route_status"].tolist() == ["ok"], out
result = CliRunner().invoke(classifier.cli.app, ["predict", "小区电梯坏了", "--model", {str(tiny_model_dir)!r}])
assert result.exit_code == 0, result.output
heavy = sorted(m for m in ("torch", "transformers", "safetensors") if m in sys.modules)
assert not heavy, heavy
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.gpu
def test_fit_and_predict_on_cuda_in_bf16(tiny_checkpoint):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    docs, targets = tiny_docs_targets()
    config = tiny_config(model="bert", base_model=str(tiny_checkpoint), epochs=3, learning_rate=5e-3,
                         **{**FAST, "device": "cuda", "precision": "auto"})  # fmt: skip
    model = BertModel(config).fit(docs, targets)
    assert model.device_.type == "cuda"
    probs = model.predict_proba(docs)
    np.testing.assert_allclose(probs["department"].sum(axis=1), 1.0, rtol=1e-5)
