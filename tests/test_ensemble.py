"""The linear + BERT ensemble: weight tuning, one artifact with both parts, CLI train and route."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_thread")

from conftest import tiny_config, tiny_frame  # noqa: E402
from tiny_bert import shared_checkpoint, write_csv  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from classifier.artifact import ModelError, load_model  # noqa: E402
from classifier.cli import app  # noqa: E402
from classifier.models.ensemble import WEIGHT_GRID, EnsembleModel  # noqa: E402




@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    from classifier.training import train

    out = tmp_path_factory.mktemp("ensemble_parts") / "bert"
    config = tiny_config(model="bert", base_model=str(shared_checkpoint()), epochs=6, learning_rate=2e-3,
                         max_length=64, batch_size=8, device="cpu")  # fmt: skip
    train(tiny_frame(), out, config)
    return out


@pytest.fixture(scope="module")
def ensemble_dir(tiny_model_dir, bert_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ensemble")
    data = write_csv(tiny_frame(), folder / "train.csv")
    result = CliRunner().invoke(app, ["train", "--model", "ensemble", "--linear-model", str(tiny_model_dir),
                                      "--bert-model", str(bert_dir), "--data", str(data), "--out", str(folder / "model")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "model"


class Stub:
    """A fitted-model stand-in with fixed probabilities."""

    def __init__(self, kind, labels, probs):
        self.kind, self._labels, self._probs = kind, labels, probs
        self.config = tiny_config()

    @property
    def labels(self):
        return self._labels

    def predict_proba(self, docs):
        return {head: p[: len(docs)] for head, p in self._probs.items()}


def test_tune_picks_the_better_model_per_head():
    right = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    wrong = right[:, ::-1]
    linear = Stub("linear", {"a": ["x", "y"], "b": ["x", "y"]}, {"a": right, "b": wrong})
    bert = Stub("bert", {"a": ["x", "y"], "b": ["x", "y"], "c": ["u", "v"]}, {"a": wrong, "b": right, "c": right})
    model = EnsembleModel.from_models(tiny_config(), linear, bert)
    assert model.weights_ == {"a": 0.5, "b": 0.5}
    model.tune(["d1", "d2", "d3"], {"a": ["x", "y", "x"], "b": ["x", "y", ""], "c": ["u", "v", "u"]})
    assert model.weights_["a"] in WEIGHT_GRID and model.weights_["a"] > 0.5  # ties go to the weight nearest 0.5
    assert model.weights_["b"] < 0.5
    probs = model.predict_proba(["d1", "d2", "d3"])
    np.testing.assert_allclose(probs["c"], right)  # a head only one part has is passed through
    np.testing.assert_allclose(probs["a"], model.weights_["a"] * right + (1 - model.weights_["a"]) * wrong)


def test_parts_with_different_labels_are_aligned():
    linear = Stub("linear", {"a": ["x", "y"]}, {"a": np.array([[0.6, 0.4]])})
    bert = Stub("bert", {"a": ["x", "z"]}, {"a": np.array([[0.2, 0.8]])})
    model = EnsembleModel.from_models(tiny_config(), linear, bert)
    assert model.labels == {"a": ["x", "y", "z"]}
    np.testing.assert_allclose(model.predict_proba(["d"])["a"], [[0.4, 0.2, 0.4]])


def test_wrong_part_kinds_are_an_error():
    linear = Stub("linear", {"a": ["x", "y"]}, {})
    with pytest.raises(ValueError, match="linear and a BERT model"):
        EnsembleModel.from_models(tiny_config(), linear, linear)


def test_one_artifact_holds_both_parts(ensemble_dir, tiny_model_dir, bert_dir):
    meta = json.loads((ensemble_dir / "metadata.json").read_text(encoding="utf-8"))
    assert meta["model_type"] == "ensemble"
    files = set(meta["files"])
    assert {"ensemble.json", "linear/linear.npz", "bert/encoder/model.safetensors", "bert/heads.safetensors"} <= files
    spec = json.loads((ensemble_dir / "ensemble.json").read_text(encoding="utf-8"))
    assert set(spec["weights"]) >= {"screening", "department"}
    assert all(w in WEIGHT_GRID for w in spec["weights"].values())

    ensemble, linear, bert = load_model(ensemble_dir), load_model(tiny_model_dir), load_model(bert_dir)
    frame = tiny_frame()
    docs = (frame["title"] + " " + frame["text"]).tolist()
    probs, p_lin, p_bert = ensemble.predict_proba(docs), linear.predict_proba(docs), bert.predict_proba(docs)
    for head, w in spec["weights"].items():
        assert ensemble.labels[head] == linear.labels[head] == bert.labels[head]
        np.testing.assert_allclose(probs[head], w * p_lin[head] + (1 - w) * p_bert[head], rtol=1e-6)
        np.testing.assert_allclose(probs[head].sum(axis=1), 1.0, rtol=1e-6)


def test_route_and_predict_with_an_ensemble(ensemble_dir, tmp_path):
    runner = CliRunner()
    data = write_csv(tiny_frame(), tmp_path / "in.csv")
    out = tmp_path / "routed.csv"
    result = runner.invoke(app, ["route", str(data), "-o", str(out), "--model", str(ensemble_dir)])
    assert result.exit_code == 0, result.output
    routed = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert routed["route_status"].eq("ok").all() and len(routed) == len(tiny_frame())
    result = runner.invoke(app, ["predict", "公司拖欠工资三个月，老板一直不发", "--model", str(ensemble_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["route_status"] == "ok"


def test_a_tampered_part_is_a_model_error(ensemble_dir, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(ensemble_dir, copy)
    (copy / "bert" / "bert.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match=r"bert[/\\]bert\.json"):
        load_model(copy)
