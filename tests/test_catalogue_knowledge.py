"""The catalogue as knowledge: responsibility text, the similarity rule, and a city's edit taking effect at routing."""

import dataclasses
import json

import numpy as np
import pytest
from conftest import tiny_config, tiny_frame
from typer.testing import CliRunner

from classifier.catalogue import Catalogue
from classifier.cli import app
from classifier.data import catalogue_path
from classifier.errors import InputError
from classifier.router import route_rows
from classifier.training import CATALOGUE_WEIGHTS, train

runner = CliRunner()
RIVER = ("河道清淤", "城区内河淤积严重，河道清淤工作一直没有开展，一下雨就排涝不畅。")


def edited_catalogue(path) -> Catalogue:
    """The bundled catalogue with a city's edit: 水利局 also handles 内河整治, 河道清淤, 排涝."""
    raw = json.loads(catalogue_path().read_text(encoding="utf-8"))
    for department in raw["departments"]:
        if department["name"] == "水利局":
            department["matters"] += ["内河整治", "河道清淤", "排涝"]
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return Catalogue.load(path)


def test_every_department_has_responsibility_text():
    catalogue = Catalogue.load(catalogue_path())
    for department in catalogue.departments:
        assert department.scope and department.matters and department.examples, department.name
        assert all("\n" not in example for example in department.examples)
    assert Catalogue.from_dict(catalogue.to_dict()) == catalogue


def test_an_older_catalogue_without_responsibility_text_still_loads():
    old = {"departments": [{"name": "水利局", "scope": "rivers", "deadline_class": "B", "keywords": ["水库"]}]}
    department = Catalogue.from_dict(old).departments[0]
    assert department.matters == () and department.examples == () and department.keywords == ("水库",)
    assert Catalogue.from_dict({"departments": [{"name": "水利局"}]}).similarity(["水库漏水"], ["水利局"]).shape == (1, 1)


def test_a_field_that_is_not_a_list_of_strings_is_an_input_error():
    with pytest.raises(InputError, match="'matters' must be a list of strings"):
        Catalogue.from_dict({"departments": [{"name": "水利局", "matters": "内河整治, 河道清淤"}]})


def test_similarity_is_a_cosine_per_label():
    catalogue = Catalogue.load(catalogue_path())
    labels = ["人力资源和社会保障局", "教育局", "未知部门"]
    scores = catalogue.similarity(["公司拖欠工资不发，也不交社保", "学校乱收补课费", ""], labels)
    assert scores.shape == (3, 3) and np.all(scores >= 0) and np.all(scores <= 1 + 1e-6)
    assert scores[0].argmax() == 0 and scores[1].argmax() == 1
    assert scores[:, 2].sum() == 0 and scores[2].sum() == 0


def test_a_city_edit_raises_the_edited_department(tmp_path):
    labels = ["水利局", "城市管理和综合执法局", "生态环境局"]
    doc = "小区旁边排涝泵站坏了，内河整治拖了两年"
    before = Catalogue.load(catalogue_path()).similarity([doc], labels)[0]
    after = edited_catalogue(tmp_path / "city.json").similarity([doc], labels)[0]
    assert after[0] > before[0] and after[0] == after.max()


@pytest.mark.parametrize("weight", [None, 2.0])
def test_the_router_follows_a_city_edit(shipped_model, tmp_path, weight):
    """The shipped model (its own tuned weight, then the smallest one training may choose) sends messages about
    what the city added (排涝, 河道清淤) to 水利局, where it sends the 排涝 ones elsewhere without the edit."""
    model = shipped_model
    if weight is not None:
        model = dataclasses.replace(model, metadata={**model.metadata, "rules": {**model.rules, "catalogue_weight": weight}})
    assert model.rules.get("catalogue_weight")
    edited = model.with_catalogue(edited_catalogue(tmp_path / "city.json"))
    titles = ["排涝不及时", "排涝泵站", RIVER[0]]
    texts = ["昨晚暴雨，村里的农田全被淹了，排涝站一直没开泵。", "城南排涝泵站的设备坏了，每到雨季小区地下车库就被淹。", RIVER[1]]
    assert "水利局" not in route_rows(model, titles, texts)["department"].tolist()[:2]
    routed = route_rows(edited, titles, texts)["department"].tolist()
    assert routed == ["水利局"] * 3 if weight is None else routed[::2] == ["水利局"] * 2  # weight 2: ×7.4 at most


def test_what_a_catalogue_adds_to_the_learned_one_counts_in_full(tmp_path):
    own = Catalogue.load(catalogue_path())
    city = edited_catalogue(tmp_path / "city.json")
    assert city.additions(own, ["水利局", "教育局"]) == {"水利局": ["内河整治", "排涝", "河道清淤"]}
    labels = ["水利局", "城市管理和综合执法局"]
    docs = ["排涝站没开泵", "学校乱收费"]
    plain, added = city.similarity(docs, labels), city.similarity(docs, labels, learned=own)
    assert added[0, 0] == 1 and plain[0, 0] < 0.5 and np.allclose(added[1], plain[1]) and np.allclose(added[:, 1], plain[:, 1])
    assert np.allclose(own.similarity(docs, labels, learned=Catalogue.load(catalogue_path())), own.similarity(docs, labels))


def test_training_tunes_the_catalogue_weight(tmp_path):
    train(tiny_frame(), tmp_path / "m", tiny_config(), catalogue=Catalogue.load(catalogue_path()))
    rules = json.loads((tmp_path / "m" / "metadata.json").read_text(encoding="utf-8"))["rules"]
    assert rules["catalogue_weight"] in CATALOGUE_WEIGHTS and rules["catalogue_weight"] > 0  # an edit must count


def test_catalogue_option_replaces_the_model_catalogue(tiny_model_dir, tmp_path):
    raw = json.loads(catalogue_path().read_text(encoding="utf-8"))
    for department in raw["departments"]:
        if department["name"] == "住房和城乡建设局":
            department["deadline_class"] = "A"  # this city answers housing matters within a day
    path = tmp_path / "city.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    message = ["predict", "小区物业乱收费，业委会也不管，电梯坏了物业不修", "-m", str(tiny_model_dir), "--json"]
    assert json.loads(runner.invoke(app, message).stdout)["deadline_days"] == 5
    assert json.loads(runner.invoke(app, [*message, "--catalogue", str(path)]).stdout)["deadline_days"] == 1
    tiny_frame().to_csv(tmp_path / "labelled.csv", index=False)
    for command in (["route", str(tmp_path / "labelled.csv"), "-o", str(tmp_path / "out.csv")],
                    ["evaluate", "--data", str(tmp_path / "labelled.csv")]):  # fmt: skip
        result = runner.invoke(app, [*command, "-m", str(tiny_model_dir), "--catalogue", str(path)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", "x", "-m", str(tiny_model_dir), "--catalogue", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "not found" in result.output and "Traceback" not in result.output


def test_catalogue_command_writes_the_model_catalogue_to_edit(tiny_model_dir, tiny_model, tmp_path):
    result = runner.invoke(app, ["catalogue", "-o", str(tmp_path / "city.json"), "-m", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert Catalogue.load(tmp_path / "city.json") == tiny_model.catalogue
    assert [p.name for p in tmp_path.iterdir()] == ["city.json"]  # no temporary file left
    (tmp_path / "city.json").write_text("{}", encoding="utf-8")  # a city's edits are not lost to a second run
    result = runner.invoke(app, ["catalogue", "-o", str(tmp_path / "city.json"), "-m", str(tiny_model_dir)])
    assert result.exit_code == 2 and "--force" in result.output and (tmp_path / "city.json").read_text() == "{}"
    assert runner.invoke(app, ["catalogue", "-o", str(tmp_path / "city.json"), "-m", str(tiny_model_dir), "--force"]).exit_code == 0
    assert Catalogue.load(tmp_path / "city.json") == tiny_model.catalogue
    for output, expected in ((tmp_path, "is a folder"), (tiny_model_dir / "catalogue.json", "is a model folder")):
        result = runner.invoke(app, ["catalogue", "-o", str(output), "-m", str(tiny_model_dir)])
        assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output


def test_a_catalogue_that_does_not_match_the_model_is_said(tiny_model_dir, tiny_model, tmp_path):
    raw = json.loads(catalogue_path().read_text(encoding="utf-8"))
    renamed = next(d for d in raw["departments"] if d["name"] in tiny_model.labels["department"])
    old_name, renamed["name"] = renamed["name"], "市" + renamed["name"]
    (tmp_path / "typo.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["predict", "小区物业乱收费", "-m", str(tiny_model_dir), "--catalogue", str(tmp_path / "typo.json")])
    assert result.exit_code == 0
    note = next(line for line in result.stderr.splitlines() if "no entry" in line)
    assert f"departments: {old_name} (" in note and f"市{old_name}" in note.split("lacks: ")[1]
    clean = runner.invoke(app, ["predict", "小区物业乱收费", "-m", str(tiny_model_dir), "--catalogue", str(catalogue_path())])
    assert "no entry" not in clean.stderr
