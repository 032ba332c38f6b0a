"""``adapt``: a new model from the old one's training data plus a city's labelled rows."""

import hashlib
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.adapt import adapt, adapt_file, base_training_data
from classifier.artifact import TRAINING_DATA, load_model
from classifier.cli import app
from classifier.errors import InputError, ModelError
from classifier.models.linear import LinearModel
from conftest import tiny_config, tiny_frame

runner = CliRunner()


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """A tiny linear model with the heads a screener labels (the tiny corpus has one urgent message only, too
    few to survive a validation split of the adapted data)."""
    from classifier.catalogue import Catalogue
    from classifier.data import catalogue_path
    from classifier.training import train

    out = tmp_path_factory.mktemp("adapt") / "base"
    train(tiny_frame(), out, tiny_config(label_cols=["screening", "department"]), catalogue=Catalogue.load(catalogue_path()))
    return out

CITY = [  # (id, title, text, department, screening)
    ("N1", "内河清淤", "城区内河多年没有清淤，河道堵塞发臭，请住建局安排清淤", "住房和城乡建设局", "政务服务"),
    ("N2", "河道排涝", "一下雨小区门口就积水，排涝泵站不开，河道清淤没人管", "住房和城乡建设局", "政务服务"),
    ("N3", "讨薪", "工地老板拖欠农民工工资半年，劳动监察不管", "人力资源和社会保障局", ""),
    ("N4", "没人看过", "这一行还没有人标注", "", ""),
]


def city_frame(rows=CITY) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "title", "text", "department", "screening"])
    return frame.assign(channel="", time="")


def folder_digest(path) -> str:
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()


def test_adapt_writes_a_new_model_and_leaves_the_old_one(base_dir, tmp_path):
    before = folder_digest(base_dir)
    result = adapt(base_dir, city_frame(), tmp_path / "new", weight=5)
    assert folder_digest(base_dir) == before
    new = load_model(tmp_path / "new")
    old = load_model(base_dir)
    assert new.labels == old.labels and new.metadata["format_version"] == old.metadata["format_version"]
    assert result.added == 3 and result.unlabelled == 1 and result.replaced == 0
    assert set(result.metrics) == set(old.heads) and new.metadata["metrics"]["validation"]
    record = new.metadata["training_data"]
    assert record["adapted_from"] == old.version and record["weight"] == 5 and record["source"] == "stored"
    stored, _ = base_training_data(new)  # the adapted model can be adapted again
    assert len(stored) == len(tiny_frame()) + 3 and sorted(stored["weight"].unique().tolist()) == [1.0, 5.0]


def test_the_city_rows_move_the_model(base_dir, tmp_path):
    from classifier.router import route_rows

    rows = [(f"N{i}", "河道清淤", f"内河河道清淤排涝第{i}次反映，河道淤积", "人力资源和社会保障局", "政务服务") for i in range(6)]
    adapt(base_dir, city_frame(rows), tmp_path / "new", weight=20)
    routed = route_rows(load_model(tmp_path / "new"), ["河道"], ["内河河道清淤排涝，河道淤积严重"])
    assert routed["department"].iloc[0] == "人力资源和社会保障局"


def test_unknown_labels_are_listed_or_added_as_classes(base_dir, tmp_path):
    rows = CITY[:3] + [("N5", "内河", "内河整治拖了两年", "水务局", "政务服务")]
    with pytest.raises(InputError, match=r"department: 水务局 \(1 rows\).*--allow-new-labels"):
        adapt(base_dir, city_frame(rows), tmp_path / "new")
    assert not (tmp_path / "new").exists()
    result = adapt(base_dir, city_frame(rows), tmp_path / "new", allow_new_labels=True)
    assert result.new_labels == {"department": ["水务局"]}
    assert "水务局" in load_model(tmp_path / "new").labels["department"]


def test_labels_typed_with_spaces_are_trimmed_and_no_department_label_is_said(base_dir, tmp_path):
    spaced = [(i, t, x, f" {d} " if d else d, s) for i, t, x, d, s in CITY]  # cells typed in a spreadsheet
    result = adapt(base_dir, city_frame(spaced), tmp_path / "spaced")
    assert result.added == 3 and not result.new_labels
    assert not any("department labels" in w for w in result.warnings)
    screening_only = city_frame([(i, t, x, "", "政务服务") for i, t, x, _, _ in CITY])
    result = adapt(base_dir, screening_only, tmp_path / "screening")
    assert any("no department labels" in w for w in result.warnings)


def test_an_adapted_model_keeps_the_catalogue_its_rules_learned(base_dir, tmp_path):
    """With a city's catalogue, the new model routes with it and keeps the old one as learned, so what the city
    added still counts in full; without one, nothing extra is stored."""
    from classifier.artifact import LEARNED_CATALOGUE
    from classifier.catalogue import Catalogue
    from classifier.data import catalogue_path

    raw = json.loads(catalogue_path().read_text(encoding="utf-8"))
    next(d for d in raw["departments"] if d["name"] == "水利局")["matters"].append("排涝")
    (tmp_path / "city.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    adapt(base_dir, city_frame(), tmp_path / "city", catalogue=Catalogue.load(tmp_path / "city.json"))
    new, old = load_model(tmp_path / "city"), load_model(base_dir)
    assert new.catalogue.get("水利局").matters[-1] == "排涝"
    assert new.learned_catalogue.fingerprint == old.catalogue.fingerprint
    assert new.catalogue.additions(new.learned_catalogue, ["水利局"]) == {"水利局": ["排涝"]}
    adapt(base_dir, city_frame(), tmp_path / "plain")
    assert not (tmp_path / "plain" / LEARNED_CATALOGUE).exists() and (tmp_path / "city" / LEARNED_CATALOGUE).exists()
    plain = load_model(tmp_path / "plain")
    assert plain.learned_catalogue is plain.catalogue
    (tmp_path / "plain" / LEARNED_CATALOGUE).write_text('{"departments": []}', encoding="utf-8")  # not checksummed
    assert load_model(tmp_path / "plain").learned_catalogue.fingerprint == plain.catalogue.fingerprint


def test_a_file_without_labels_is_an_error(base_dir, tmp_path):
    empty = city_frame([(r[0], r[1], r[2], "", "") for r in CITY])
    with pytest.raises(InputError, match="no labels at all"):
        adapt(base_dir, empty, tmp_path / "new")
    with pytest.raises(InputError, match="none of the model's label columns"):
        adapt(base_dir, empty.drop(columns=["department", "screening"]), tmp_path / "new")
    path = tmp_path / "city.csv"
    pd.DataFrame({"工单编号": ["N1"], "来电内容": [CITY[0][2]]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"city.csv has none .* found columns \['工单编号', '来电内容'\]"):
        adapt_file(base_dir, path, tmp_path / "new")  # the file's own column names, not the renamed ones


def test_duplicates_the_new_label_wins_with_a_warning(base_dir, tmp_path):
    old = tiny_frame().iloc[0]  # an old training message, labelled again by the city with another department
    rows = CITY[:3] + [(old["id"], old["title"], old["text"], "人力资源和社会保障局", "政务服务"),
                       ("T001", "另一条", "编号相同但内容不同的留言，讲的是拖欠工资", "人力资源和社会保障局", "政务服务")]  # fmt: skip
    result = adapt(base_dir, city_frame(rows), tmp_path / "new")
    assert result.replaced == 1
    assert any("new labels win" in w for w in result.warnings) and any("both are kept" in w for w in result.warnings)
    stored, _ = base_training_data(load_model(tmp_path / "new"))
    assert stored.loc[stored["text"] == old["text"], "department"].tolist() == ["人力资源和社会保障局"]
    assert (stored["id"] == "T001").sum() == 2


def test_bad_options_and_models(base_dir, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="old model's folder"):
        adapt(base_dir, city_frame(), base_dir)
    with pytest.raises(InputError, match="positive"):
        adapt(base_dir, city_frame(), tmp_path / "new", weight=0)
    monkeypatch.setattr(LinearModel, "supports_sample_weight", False)  # as a BERT or ensemble model
    with pytest.raises(ModelError, match="adapt works with linear models.*train --model bert.*ensemble"):
        adapt(base_dir, city_frame(), tmp_path / "new")


def test_a_model_that_does_not_record_its_data_is_a_model_error(base_dir, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(base_dir, old)
    meta = json.loads((old / "metadata.json").read_text(encoding="utf-8"))
    del meta["training_data"]["source"], meta["files"][TRAINING_DATA]
    (old / TRAINING_DATA).unlink()
    (old / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelError, match="does not record its training data"):
        adapt(old, city_frame(), tmp_path / "new")


def test_the_shipped_model_is_rebuilt_from_the_bundled_data(shipped_model):
    frame, vocabulary = base_training_data(shipped_model)
    assert len(frame) == shipped_model.metadata["training_data"]["rows"] and len(vocabulary) > 1000
    assert set(shipped_model.heads) <= set(frame.columns) and (frame["weight"] == 1).all()


def test_cli_adapt(base_dir, tmp_path):
    data = tmp_path / "labelled.csv"
    city_frame().rename(columns={"title": "留言主题", "text": "留言详情"}).to_csv(data, index=False)
    result = runner.invoke(app, ["adapt", "--model", str(base_dir), "--data", str(data), "--out", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert "new model written" in result.stdout and "validation department" in result.stdout
    city_frame([(r[0], r[1], r[2], "水务局", "") for r in CITY]).to_csv(data, index=False)
    result = runner.invoke(app, ["adapt", "-m", str(base_dir), "--data", str(data), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "水务局" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_adapt_file_reads_a_suggest_output(base_dir, tmp_path):
    data = tmp_path / "to_label.csv"
    frame = city_frame().rename(columns={"department": "guess_department"})
    frame["department"] = ["住房和城乡建设局", "", "", ""]
    frame["department_input"] = "原始列"
    frame.to_csv(data, index=False)
    result = adapt_file(base_dir, data, tmp_path / "new")
    assert result.added == 2 and result.unlabelled == 2  # screening N1/N2 and department N1 are labelled
