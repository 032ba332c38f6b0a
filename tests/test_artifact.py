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


def test_model_folder_gets_the_usual_permissions(tiny_model_dir):
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(tiny_model_dir.stat().st_mode) == 0o777 & ~mask


def test_evaluating_on_training_rows_is_counted_and_warned(tiny_model_dir, tiny_model):
    from classifier.evaluate import evaluate, overlap_warning
    from conftest import tiny_frame

    frame = tiny_frame()
    fresh = frame.assign(text=frame["text"] + "（新的一条）")
    both = __import__("pandas").concat([frame.iloc[:5], fresh], ignore_index=True)
    result = evaluate(tiny_model, both)
    assert result["training_overlap"] == 5
    assert "5 of the 21" in overlap_warning(result)
    assert overlap_warning(evaluate(tiny_model, fresh)) is None


def test_unknown_config_key_is_an_error_naming_it():
    from classifier.config import TrainConfig
    from classifier.errors import ConfigError

    with pytest.raises(ConfigError, match="max_depth"):
        TrainConfig.from_dict({"max_depth": 3})


def test_a_format_1_model_still_loads(model_copy):
    meta = json.loads((model_copy / "metadata.json").read_text(encoding="utf-8"))
    del meta["files"]["training_rows.npy"]
    (model_copy / "training_rows.npy").unlink()
    meta["format_version"] = 1
    meta["thresholds"] = {"screening": 0.0, "department": 0.3}
    (model_copy / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    model = load_model(model_copy)
    assert model.training_overlap(["任何留言"]) is None
    from classifier.router import route_rows

    assert route_rows(model, [""], ["公司拖欠工资"])["route_status"].tolist() == ["ok"]


def test_model_version_changes_with_the_rules_not_only_with_the_weights(tiny_model, tmp_path):
    from classifier.artifact import save_model
    from classifier.config import TrainConfig

    meta = tiny_model.metadata

    def version(rules: dict) -> str:
        folder = save_model(tiny_model.model, tmp_path / "copy", config=TrainConfig.from_dict(meta["config"]),
                            catalogue=tiny_model.catalogue, training_data=meta["training_data"], metrics=meta["metrics"],
                            thresholds=meta["thresholds"], rules=rules)  # fmt: skip
        return read_metadata(folder)["model_version"].rsplit("-", 1)[1]  # the fingerprint, not the date

    same = version(meta["rules"])
    assert version(meta["rules"]) == same
    assert version({**meta["rules"], "urgent": {"threshold": 0.02}}) != same
