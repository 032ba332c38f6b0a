import json

import pytest

from classifier.catalogue import Catalogue
from classifier.data import catalogue_path


def test_bundled_catalogue_has_the_22_departments_of_the_guidelines():
    catalogue = Catalogue.load(catalogue_path())
    names = [d.name for d in catalogue.departments]
    assert len(names) == 22 == len(set(names))
    assert {"住房和城乡建设局", "纪委监委", "信访局", "区县人民政府"} <= set(names)
    assert all(d.scope and d.keywords and d.deadline_class in catalogue.deadline_classes for d in catalogue.departments)
    assert catalogue.deadline_days("供水供电供气企业") == 1 and catalogue.deadline_days("不存在") is None


def test_keyword_hits_per_label_column():
    catalogue = Catalogue.load(catalogue_path())
    hits = catalogue.keyword_hits(["公司拖欠工资还不交社保", "路灯不亮"], ["人力资源和社会保障局", "城市管理和综合执法局", "未知"])
    assert hits[0, 0] >= 2 and hits[0, 1] == 0 and hits[1, 1] >= 1 and hits[:, 2].sum() == 0


def test_bad_catalogue_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Catalogue.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        Catalogue.load(tmp_path / "bad.json")
    (tmp_path / "shape.json").write_text(json.dumps({"departments": [{"scope": "x"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="'name'"):
        Catalogue.load(tmp_path / "shape.json")
