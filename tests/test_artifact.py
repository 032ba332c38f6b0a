import json
import shutil

import pytest

from classifier.artifact import FORMAT_VERSION, ModelError, load_model, read_metadata


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    return shutil.copytree(tiny_model_dir, tmp_path / "model")


def test_metadata_records_what_was_trained(tiny_model_dir):
    meta = read_metadata(tiny_model_dir)
    assert meta["format_version"] == FORMAT_VERSION and meta["model_type"] == "linear"
    assert len(meta["training_data"]["sha256"]) == 64
    assert {"numpy", "scikit-learn", "jieba", "python"} <= set(meta["library_versions"])
    assert set(meta["thresholds"]) <= set(meta["heads"]) and meta["metrics"]["validation"]
    assert {"linear.npz", "features.json", "labels.json", "catalogue.json"} <= set(meta["files"])
    labels = json.loads((tiny_model_dir / "labels.json").read_text(encoding="utf-8"))
    assert all(values == sorted(values) for values in labels.values())


def test_tampered_file_is_named(model_copy):
    with open(model_copy / "linear.npz", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ModelError, match="linear.npz.*checksum"):
        load_model(model_copy)


def test_missing_file_is_named(model_copy):
    (model_copy / "features.json").unlink()
    with pytest.raises(ModelError, match="missing.*features.json"):
        load_model(model_copy)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelError, match="no metadata.json"):
        load_model(tmp_path)


def test_future_format_version_is_refused(model_copy):
    meta = json.loads((model_copy / "metadata.json").read_text(encoding="utf-8"))
    meta["format_version"] = 99
    (model_copy / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="version 99.*not supported"):
        load_model(model_copy)


def test_library_version_change_warns(model_copy):
    meta = json.loads((model_copy / "metadata.json").read_text(encoding="utf-8"))
    meta["library_versions"]["numpy"] = "0.0.1"
    (model_copy / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.warns(UserWarning, match="numpy 0.0.1"):
        load_model(model_copy)


def test_save_refuses_a_folder_with_other_files(tmp_path):
    from classifier.training import train
    from conftest import tiny_config, tiny_frame

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ModelError, match="not a model folder"):
        train(tiny_frame(), folder, tiny_config())
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep me"
